// cpppo simulator dashboard: polls /state, drives /api. Plain JS, no external resources.
"use strict";

(function () {
  const POLL_MS = 500;
  const $ = (id) => document.getElementById(id);
  let detailTag = null;
  let detailStart = 0;
  let disabled = false;
  let polling = false;

  // The token comes from the page's ?token=... or the token field; kept for this tab only.
  const fromUrl = new URLSearchParams(window.location.search).get("token");
  if (fromUrl) sessionStorage.setItem("cpppo-token", fromUrl);
  $("token").value = sessionStorage.getItem("cpppo-token") || "";
  $("token").addEventListener("change", () => {
    sessionStorage.setItem("cpppo-token", $("token").value);
  });

  function show(message, failed) {
    const line = $("message");
    line.textContent = message;
    line.style.color = failed ? "var(--bad)" : "";
  }

  // One API command: /api/<group>/<match>?command=<command>&value=<value>
  async function api(group, match, command, value) {
    const query = new URLSearchParams({ command: command, value: String(value) });
    const url = "api/" + encodeURIComponent(group) + "/" + encodeURIComponent(match) + "?" + query;
    const headers = { Accept: "application/json" };
    const token = $("token").value;
    if (token) headers.Authorization = "Bearer " + token;
    try {
      const response = await fetch(url, { method: "POST", headers: headers });
      const body = await response.json();
      const result = body.command || {};
      if (response.status === 403) $("token-row").hidden = false;
      show(result.message || response.statusText, !result.success);
      poll();
      return result.success;
    } catch (error) {
      show("request failed: " + error, true);
      return false;
    }
  }

  function text(element, value) {
    const string = String(value);
    if (element.textContent !== string) element.textContent = string;
  }

  function cell(row, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function formatValues(values) {
    return values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(", ");
  }

  // ---- rendering --------------------------------------------------------------------------------
  function renderHeader(state) {
    const id = state.identity;
    text($("product"), id.product_name);
    text(
      $("identity"),
      "vendor " + id.vendor + " · device type " + id.device_type + " · product code " +
        id.product_code + " · revision " + id.revision + " · serial " + id.serial +
        " · serving " + (state.address || "?")
    );
    document.title = id.product_name + " — cpppo simulator";
    const control = state.control;
    disabled = control.disable;
    const status = $("status");
    status.className = "badge " + (control.done || control.disable ? "bad" : "ok");
    text(status, control.done ? "stopping" : control.disable ? "disabled" : "serving");
    text($("disable-toggle"), disabled ? "Enable port" : "Disable port");
    text($("updated"), "updated " + new Date(state.time * 1000).toLocaleTimeString());
    $("token-row").hidden = !state.token_required && !$("token").value;
    const alarms = $("alarms");
    const wanted = state.alarm.join("\n");
    if (alarms.dataset.shown !== wanted) {
      alarms.replaceChildren(...state.alarm.map((a) => {
        const li = document.createElement("li");
        li.textContent = a;
        return li;
      }));
      alarms.dataset.shown = wanted;
    }
  }

  function keepInput(input, value) {
    if (document.activeElement !== input) input.value = value;
  }

  function renderControls(state) {
    keepInput($("delay-value"), state.delay.value);
    keepInput($("delay-range"), state.delay.range || "");
    keepInput($("latency"), state.control.latency);
    keepInput($("timeout"), state.control.timeout);
  }

  function renderRate(rate) {
    const samples = rate.samples;
    const last = samples.length ? samples[samples.length - 1][1] : 0;
    text($("rate"), last.toFixed(1));
    text($("total"), rate.total);
    const canvas = $("sparkline");
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    if (samples.length < 2) return;
    const top = Math.max(1, ...samples.map((s) => s[1]));
    const step = width / (samples.length - 1);
    context.beginPath();
    samples.forEach((sample, i) => {
      const x = i * step;
      const y = height - 2 - (sample[1] / top) * (height - 4);
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.strokeStyle = "#1f6feb";
    context.lineWidth = 1.5;
    context.stroke();
  }

  // A tag's sparkline: its recent [time, value] samples, scaled to the canvas.
  function drawTrend(canvas, trend) {
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    canvas.dataset.samples = trend.length;
    canvas.dataset.last = trend.length ? trend[trend.length - 1][1] : "";
    if (trend.length < 2) return;
    const values = trend.map((s) => s[1]);
    const low = Math.min(...values);
    const span = Math.max(...values) - low || 1;
    const first = trend[0][0];
    const scale = width / Math.max(trend[trend.length - 1][0] - first, 1e-3);
    context.beginPath();
    trend.forEach((sample, i) => {
      const x = (sample[0] - first) * scale;
      const y = height - 2 - ((sample[1] - low) / span) * (height - 4);
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.strokeStyle = "#1f6feb";
    context.lineWidth = 1.2;
    context.stroke();
  }

  function renderTrend(td, tag) {
    let canvas = td.firstChild;
    if (!tag.trend) {
      if (canvas) td.replaceChildren();
      return;
    }
    if (!canvas) {
      canvas = document.createElement("canvas");
      canvas.className = "trend";
      canvas.width = 160;
      canvas.height = 24;
      canvas.dataset.tag = tag.name;
      td.appendChild(canvas);
    }
    const behaviour = tag.behaviour
      ? Object.entries(tag.behaviour).map(([path, text]) => path + " = " + text).join("\n")
      : "recently written";
    if (canvas.title !== behaviour) canvas.title = behaviour;
    drawTrend(canvas, tag.trend);
  }

  function renderConnections(connections) {
    const body = $("connections").tBodies[0];
    const rows = new Map([...body.rows].map((row) => [row.dataset.name, row]));
    for (const c of connections) {
      let row = rows.get(c.name);
      if (!row) {
        row = document.createElement("tr");
        row.dataset.name = c.name;
        for (const name of ["name", "interface", "port", "received", "requests"]) {
          cell(row, name);
        }
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Drop";
        button.addEventListener("click", () => api("connections", c.name, "eof", "true"));
        cell(row, "drop").appendChild(button);
        body.appendChild(row);
      }
      rows.delete(c.name);
      text(row.cells[0], c.name);
      text(row.cells[1], c.interface);
      text(row.cells[2], c.port);
      text(row.cells[3], c.received);
      text(row.cells[4], c.requests);
    }
    for (const row of rows.values()) row.remove();
  }

  function renderTags(state) {
    const body = $("tags").tBodies[0];
    const rows = new Map([...body.rows].map((row) => [row.dataset.tag, row]));
    for (const tag of state.tags) {
      let row = rows.get(tag.name);
      if (!row) {
        row = document.createElement("tr");
        row.dataset.tag = tag.name;
        const link = document.createElement("a");
        link.className = "tag";
        link.textContent = tag.name;
        link.addEventListener("click", () => openDetail(tag.name));
        cell(row, "name").appendChild(link);
        cell(row, "type");
        const error = cell(row, "error");
        const input = document.createElement("input");
        input.type = "number";
        input.min = "0";
        input.max = "255";
        input.title = "CIP status forced onto every access (0: none)";
        input.addEventListener("change", () => api("tags", tag.name, "error", input.value || "0"));
        error.appendChild(input);
        const values = cell(row, "values");
        values.dataset.tag = tag.name;
        cell(row, "trend");
        body.appendChild(row);
      }
      rows.delete(tag.name);
      text(row.cells[1], tag.type);
      keepInput(row.cells[2].firstChild, tag.error);
      row.classList.toggle("faulted", tag.error !== 0);
      const more = tag.elements > tag.values.length ? ", …" : "";
      text(row.cells[3], formatValues(tag.values) + more);
      renderTrend(row.cells[4], tag);
    }
    for (const row of rows.values()) row.remove();
    const shown = state.tags.length;
    text($("tag-count"), shown < state.tags_total ? shown + " of " + state.tags_total : shown);
  }

  function renderDetail(detail) {
    const panel = $("detail-panel");
    if (!detail || detailTag === null) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    text($("detail-name"), detail.tag + (detail.elements ? " (" + detail.elements + " elements)" : ""));
    const grid = $("detail-values");
    if (detail.error) {
      grid.replaceChildren(document.createTextNode(detail.error));
      return;
    }
    const items = detail.values.map((value, i) => {
      const item = document.createElement("div");
      const index = document.createElement("span");
      index.className = "index";
      index.textContent = "[" + (detail.start + i) + "] ";
      item.append(index, typeof value === "string" ? JSON.stringify(value) : String(value));
      return item;
    });
    const signature = JSON.stringify([detail.start, detail.values]);
    if (grid.dataset.shown !== signature) {
      grid.replaceChildren(...items);
      grid.dataset.shown = signature;
    }
  }

  function openDetail(name) {
    detailTag = name;
    detailStart = 0;
    $("detail-start").value = 0;
    $("write-index").value = 0;
    poll();
  }

  // ---- polling ------------------------------------------------------------------------------------
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      let url = "state";
      if (detailTag !== null) {
        url += "?" + new URLSearchParams({ tag: detailTag, start: detailStart, count: 40 });
      }
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      const state = await response.json();
      renderHeader(state);
      renderControls(state);
      renderRate(state.rate);
      renderConnections(state.connections);
      renderTags(state);
      renderDetail(state.detail);
    } catch (error) {
      const status = $("status");
      status.className = "badge bad";
      text(status, "no answer");
    } finally {
      polling = false;
    }
  }

  // ---- controls ---------------------------------------------------------------------------------
  $("delay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api("options", "delay", "value", $("delay-value").value || "0");
  });
  $("range-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api("options", "delay", "range", $("delay-range").value || "none");
  });
  $("range-clear").addEventListener("click", () => api("options", "delay", "range", "none"));
  $("latency-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await api("server", "control", "latency", $("latency").value || "0")) {
      api("server", "control", "timeout", $("timeout").value || "0");
    }
  });
  $("disable-toggle").addEventListener("click", () => {
    api("server", "control", "disable", disabled ? "false" : "true");
  });
  $("done").addEventListener("click", () => {
    if (window.confirm("Stop the simulator? It exits and this page stops updating.")) {
      api("server", "control", "done", "true");
    }
  });
  $("drop-all").addEventListener("click", () => api("connections", "*", "eof", "true"));
  $("detail-nav").addEventListener("submit", (event) => {
    event.preventDefault();
    detailStart = Math.max(0, parseInt($("detail-start").value, 10) || 0);
    poll();
  });
  $("detail-close").addEventListener("click", () => {
    detailTag = null;
    $("detail-panel").hidden = true;
  });
  $("write-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (detailTag === null) return;
    const index = $("write-index").value.trim() || "0";
    api("tags", detailTag, "attribute[" + index + "]", $("write-value").value);
  });

  poll();
  window.setInterval(poll, POLL_MS);
})();
