// cpppo fleet dashboard: polls /api/devices one page at a time. Plain JS, no external resources.
"use strict";

(function () {
  const POLL_MS = 2000;
  const PAGE = 100;
  const $ = (id) => document.getElementById(id);
  let offset = 0;
  let matched = 0;
  let polling = false;
  let again = false;

  // A ?token=... given to this page is kept for this tab, where each device's dashboard (same
  // origin, linked from here) finds it for its controls.
  const fromUrl = new URLSearchParams(window.location.search).get("token");
  if (fromUrl) sessionStorage.setItem("cpppo-token", fromUrl);

  function cell(row, value, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value === null || value === undefined ? "" : String(value);
    row.appendChild(td);
    return td;
  }

  function render(summary) {
    const states = Object.entries(summary.states || {}).map(([s, n]) => n + " " + s).join(", ");
    $("totals").textContent = summary.devices + " devices (" + states + "), " +
      summary.requests_per_s + " requests/s, " + summary.connections + " connections";
    matched = summary.matched === undefined ? summary.devices : summary.matched;
    const last = Math.min(offset + PAGE, matched);
    $("page").textContent = matched ? (offset + 1) + "-" + last + " of " + matched : "none";
    $("prev").disabled = offset === 0;
    $("next").disabled = last >= matched;
    const body = document.createElement("tbody");
    for (const device of summary.list) {
      const row = document.createElement("tr");
      row.className = device.state;
      const link = document.createElement("a");
      const key = encodeURIComponent(device.key);
      link.href = device.kind === "modbus" ? "api/devices/" + key + "/server" : "devices/" + key + "/";
      link.textContent = device.key;
      cell(row, "").appendChild(link);
      cell(row, device.kind);
      cell(row, device.name);
      cell(row, device.serial === null ? "" : "0x" + Number(device.serial).toString(16).toUpperCase());
      cell(row, device.state + (device.error ? ": " + device.error : ""), "state");
      cell(row, device.requests_per_s, "num");
      cell(row, device.connections, "num");
      body.appendChild(row);
    }
    $("devices").replaceChild(body, $("devices").tBodies[0]);
  }

  async function poll() {
    // One request at a time; a poll asked for meanwhile (a new filter or page) runs after it,
    // so the table always ends up showing what the controls ask for now.
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    again = false;
    try {
      const query = new URLSearchParams({ q: $("filter").value, offset: offset, limit: PAGE });
      const response = await fetch("api/devices?" + query, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      render(await response.json());
      $("status").className = "badge ok";
      $("status").textContent = "live";
      $("updated").textContent = new Date().toLocaleTimeString();
    } catch (error) {
      $("status").className = "badge bad";
      $("status").textContent = "no answer";
    } finally {
      polling = false;
      if (again) poll();
    }
  }

  $("filter-form").addEventListener("submit", (event) => event.preventDefault());
  $("filter").addEventListener("input", () => { offset = 0; poll(); });
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); poll(); });
  $("next").addEventListener("click", () => { if (offset + PAGE < matched) offset += PAGE; poll(); });

  poll();
  window.setInterval(poll, POLL_MS);
})();
