"""dotdict: dotted-path keys, attribute access, list items, leaves."""

import copy
import json
import pickle

import pytest

from cpppo import dotdict


def test_dotted_set_get_and_nested_storage():
    d = dotdict()
    d["a.b.c"] = 1
    assert d == {"a": {"b": {"c": 1}}}
    assert repr(d) == "{'a': {'b': {'c': 1}}}"
    assert d["a.b.c"] == 1 and d.a.b.c == 1 and d["a"]["b"]["c"] == 1
    assert isinstance(d.a, dotdict) and isinstance(d.a.b, dotdict)
    d.a.b.d = 2
    assert d["a.b.d"] == 2
    assert len(d) == 1 and bool(d)


def test_contains_and_get_partial_paths():
    d = dotdict({"x.y.z": 3})
    assert "x" in d and "x.y" in d and "x.y.z" in d
    assert "x.q" not in d and "nope" not in d and "x.y.z.w" not in d
    assert d.get("x.y.z") == 3 and d.get("x.q", 9) == 9 and d.get("a.b") is None
    with pytest.raises(KeyError):
        d["x.q"]
    with pytest.raises(AttributeError):
        d.nope  # noqa: B018


def test_list_items():
    d = dotdict()
    d["item"] = [dotdict(), dotdict()]
    d["item[0].x"] = 5
    d["item[1]"] = {"y": {"z": 6}}
    assert d["item[0].x"] == 5 and d.item[0].x == 5
    assert d["item[1].y.z"] == 6 and isinstance(d.item[1], dotdict)
    assert "item[0].x" in d and "item[2]" not in d and "item[0].q" not in d
    assert d["item[-1].y.z"] == 6
    with pytest.raises(IndexError):
        d["item[2].x"] = 1  # lists are never extended implicitly
    d["m"] = [[1, 2], [3]]
    assert d["m[1][0]"] == 3


def test_backtracking_and_leading_dot():
    d = dotdict()
    d["a.b"] = 1
    d["a..c"] = 2  # '..' steps back up a level
    assert d == {"a": {"b": 1}, "c": 2}
    assert d[".c"] == 2  # an empty leading component is ignored
    assert d["a.b..b"] == 1


def test_bad_paths():
    d = dotdict()
    for bad in ("a[x]", "a[0", "[0]", ".."):
        with pytest.raises(KeyError):
            d[bad] = 1


def test_constructor_update_and_nested_dict_conversion():
    d = dotdict({"x.y": 1, "z": {"w": 2, "v.u": 3}}, k=4)
    assert d == {"x": {"y": 1}, "z": {"w": 2, "v": {"u": 3}}, "k": 4}
    assert isinstance(d.z, dotdict) and d.z.v.u == 3
    d.update([("p.q", 5)])
    assert d.p.q == 5
    with pytest.raises(TypeError):
        d.update({}, {})


def test_leaves_keys_items_values():
    d = dotdict({"a.b": 1, "a.c": 2, "d": 3, "e": {}})
    assert sorted(d.keys()) == ["a.b", "a.c", "d", "e"]
    assert sorted(d) == ["a.b", "a.c", "d", "e"]
    assert dict(d.items()) == {"a.b": 1, "a.c": 2, "d": 3, "e": {}}
    assert sorted(d.values(), key=str) == [1, 2, 3, {}]


def test_pop_delete_setdefault():
    d = dotdict({"a.b.c": 1, "a.b.d": 2})
    assert d.pop("a.b.c") == 1 and d == {"a": {"b": {"d": 2}}}
    assert d.pop("a.zz", "dflt") == "dflt"
    with pytest.raises(KeyError):
        d.pop("a.zz")
    del d["a.b.d"]
    assert d == {"a": {"b": {}}}
    with pytest.raises(KeyError):
        del d["a.q.r"]
    assert d.setdefault("a.b.n", []) == [] and d.a.b.n == []
    d.setdefault("a.b.n", None).append(1)
    assert d.a.b.n == [1]
    del d.a
    assert d == {}
    with pytest.raises(AttributeError):
        del d.a


def test_copy_pickle_json():
    d = dotdict({"a.b": [1, 2], "c": "x"})
    shallow = d.copy()
    shallow["a.z"] = 1
    assert "a.z" not in d and shallow.a.b is d.a.b
    deep = copy.deepcopy(d)
    assert deep == d and deep.a.b is not d.a.b and isinstance(deep.a, dotdict)
    again = pickle.loads(pickle.dumps(d))
    assert again == d and isinstance(again.a, dotdict)
    assert json.loads(json.dumps(d)) == {"a.b": [1, 2], "c": "x"}  # serialised by leaf paths
