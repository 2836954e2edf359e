"""A large Open Inference Protocol infer body decided in parts by every worker process at
once (Decider.infer_parts/decide_infer_part/join_infer_parts, tagdecide.service._lanes):
each part is a run of whole rows of the tensor's flat data, and the answer, refusals
included, is byte for byte the one the body gets decided whole; through real HTTP, also with
a worker killed while it decides its part."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import msgspec
import numpy as np
import pytest
from _serving import TAGS, five_tag_model, kill_a_worker_at_its_part, serving

from tagdecide.data import TrackScores
from tagdecide.service import _lanes, create_app
from tagdecide.service._decide import AROUND_DATA, Decider
from tagdecide.strategies import Strategy

N_ROWS = 4000  # over 256 KiB of data (5 columns), so the body arrives in pieces, into shared memory
INFER = "/v2/models/model/infer"


#: Every test starts and ends with no shared memory segment (see conftest).
pytestmark = pytest.mark.usefixtures("no_segment_left")


@pytest.fixture(scope="module")
def model() -> Strategy:
    return five_tag_model()


def _matrix(n_rows: int = N_ROWS, seed: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n_rows, len(TAGS)))


def _request(matrix: np.ndarray, **fields: Any) -> dict[str, Any]:
    tensor = {"name": "scores", "shape": list(matrix.shape), "datatype": "FP64"}
    tensor["data"] = matrix.ravel().tolist()
    return {"inputs": [tensor], **fields}


def _body(request: dict[str, Any], **dumps: Any) -> bytes:
    return json.dumps(request, **dumps).encode()


def _expected(model: Strategy, matrix: np.ndarray) -> list[int]:
    decisions = model.predict(TrackScores(np.arange(len(matrix)), TAGS, matrix))
    return [int(value) for value in decisions.ravel()]


LAYOUTS: dict[str, dict[str, Any]] = {
    "default": {},
    "compact": {"separators": (",", ":")},
    "indented": {"indent": 2},
    "tabs, spaces before commas": {"indent": "\t", "separators": (" ,", " : ")},
}


def _good_bodies(matrix: np.ndarray) -> dict[str, bytes]:
    bodies = {name: _body(_request(matrix), **dumps) for name, dumps in LAYOUTS.items()}
    request = _request(matrix, id="request-7", outputs=[{"name": "decisions"}])
    tensor = request["inputs"][0]
    data = tensor.pop("data")
    tensor["parameters"] = {"note": '"data": [1, 2]'}  # data's look in a string, before it
    tensor["data"] = data
    bodies["id, outputs and parameters"] = _body(request)
    request = _request(matrix, parameters={"x": {"data": [0.5]}})  # a "data" key after
    request["inputs"][0] = {"data": request["inputs"][0].pop("data"), **request["inputs"][0]}
    bodies["data first"] = _body(request)
    request = _request(matrix.astype(np.float32))
    request["inputs"][0]["datatype"] = "FP32"
    bodies["FP32"] = _body(request)
    bodies["whitespace around"] = b"\r\n " + _body(_request(matrix), indent=1) + b" \n"
    return bodies


# -- where a body is cut ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("n_parts", [2, 3])
def test_parts_are_runs_of_whole_rows(model: Strategy, layout: str, n_parts: int) -> None:
    decider = Decider(model, name="model", max_tracks=N_ROWS)
    matrix = _matrix(101)
    body = _body(_request(matrix), **LAYOUTS[layout])
    plan = decider.infer_parts(body, n_parts)
    assert plan is not None and len(plan.parts) == n_parts
    assert plan.n_rows == 101 and plan.datatype == "FP64" and plan.request_id is None
    values = [json.loads(b"[" + body[start:end] + b"]") for start, end, _ in plan.parts]
    assert [len(part) for part in values] == [n_rows * len(TAGS) for _, _, n_rows in plan.parts]
    assert all(n_rows > 0 for _, _, n_rows in plan.parts)
    assert [value for part in values for value in part] == matrix.ravel().tolist()
    sizes = [end - start for start, end, _ in plan.parts]
    assert max(sizes) < 2 * min(sizes)  # about equal
    answers = [
        decider.decide_infer_part(b"[" + body[start:end] + b"]", n_rows, "FP64")
        for start, end, n_rows in plan.parts
    ]
    assert decider.join_infer_parts(plan, answers) == decider.infer(body)[1]


def _tensor(**changes: Any) -> dict[str, Any]:
    return {"name": "scores", "shape": [4, len(TAGS)], "datatype": "FP64", **changes}


FLAT = _matrix(4).ravel().tolist()


@pytest.mark.parametrize(
    "request_",
    [
        {"inputs": [_tensor(data=FLAT), _tensor(data=FLAT)]},  # two inputs
        {"inputs": [_tensor(data=_matrix(4).tolist())]},  # nested data
        {"inputs": [_tensor(data=FLAT, shape=[4, len(TAGS) + 1])]},  # shape of other columns
        {"inputs": [_tensor(data=FLAT, shape=[len(FLAT)])]},  # flat shape
        {"inputs": [_tensor(data=FLAT, datatype="INT32")]},
        {"inputs": [_tensor(data=FLAT, name="other")]},
        {"inputs": [_tensor(data=FLAT)], "outputs": [{"name": "other"}]},
        {"inputs": [_tensor(data=FLAT)], "id": 7},
        {"inputs": [_tensor(data=FLAT, shape=[1, len(TAGS)])]},  # one row: nothing to cut
        {"inputs": [_tensor(data=FLAT)], "id": "x" * (AROUND_DATA + 10)},  # a long rest
        {"inputs": [_tensor(parameters={"data": FLAT}, data=[])]},  # data elsewhere first
    ],
)
def test_bodies_of_another_shape_are_not_cut(model: Strategy, request_: dict[str, Any]) -> None:
    decider = Decider(model, name="model", max_tracks=N_ROWS)
    body = _body(request_)
    plan = decider.infer_parts(body, 2)
    if plan is not None:  # then one part is not its rows' numbers
        answers = [
            decider.decide_infer_part(b"[" + body[start:end] + b"]", n_rows, plan.datatype)
            for start, end, n_rows in plan.parts
        ]
        assert decider.join_infer_parts(plan, answers) is None


@pytest.mark.parametrize(
    "request_",
    [
        {"inputs": [_tensor(data=FLAT, parameters={"data": [7, 8]})]},
        {"inputs": [_tensor(data=FLAT)], "inputs ": 1, "x": {"data": FLAT}},
    ],
)
def test_a_data_key_after_the_data_is_no_culprit(model: Strategy, request_: dict[str, Any]) -> None:
    """A "data" key after the input's data: the data is still cut at its own end, and the
    parts' answer is the whole one."""
    decider = Decider(model, name="model", max_tracks=N_ROWS)
    body = _body(request_)
    plan = decider.infer_parts(body, 2)
    assert plan is not None
    answers = [
        decider.decide_infer_part(b"[" + body[start:end] + b"]", n_rows, plan.datatype)
        for start, end, n_rows in plan.parts
    ]
    assert decider.join_infer_parts(plan, answers) == decider.infer(body)[1]
    assert decider.infer(body)[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"inputs": [{"name": "scores", "shape": [4, 5], "datatype": "FP64", "data": [',
        b'{"inputs": [{"name": "scores", "shape": [4, 5], "datatype": "FP64", "d\\u0061ta": [1]}]}',
        b'{"inputs": [{"name": "scores", "shape": [4, 5], "datatype": "FP64", "data": [1, '
        b'2]}], "data": [3]}',
        b'{"inputs": [{"name": "scores", "shape": [4, 5], "datatype": "FP64", "data": [1, '
        b'2]}], "x": "\\"data\\": []"}',
        b"",
        b"[]",
    ],
)
def test_unusual_bodies_get_no_plan(model: Strategy, body: bytes) -> None:
    assert Decider(model, name="model", max_tracks=N_ROWS).infer_parts(body, 2) is None


def test_a_part_with_a_row_too_few_or_too_many_is_not_trusted(model: Strategy) -> None:
    decider = Decider(model, name="model", max_tracks=N_ROWS)
    matrix = _matrix(10)
    body = _body(_request(matrix))
    plan = decider.infer_parts(body, 2)
    assert plan is not None
    (start, end, n_rows), _ = plan.parts
    part = b"[" + body[start:end] + b"]"
    assert decider.decide_infer_part(part, n_rows, "FP64")[0] == 200
    for wrong in (n_rows - 1, n_rows + 1):
        assert decider.decide_infer_part(part, wrong, "FP64") == (0, b"", [])
    bad = part.replace(b",", b', "x",', 1)
    assert decider.decide_infer_part(bad, n_rows, "FP64") == (0, b"", [])


# -- through real HTTP -----------------------------------------------------------------------


@pytest.fixture()
def joined(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each time the server joined an infer body's parts: whether they made the answer.
    The cores count as idle, whatever else the machine runs."""
    monkeypatch.setattr(_lanes, "idle_cores", lambda: 64)
    calls: list[bool] = []
    original = Decider.join_infer_parts

    def join_infer_parts(self: Decider, plan: Any, answers: Any) -> bytes | None:
        result = original(self, plan, answers)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(Decider, "join_infer_parts", join_infer_parts)
    return calls


def _bad_bodies(matrix: np.ndarray) -> dict[str, bytes]:
    """Bodies with a culprit in the first part, in the second, in both, or in the count."""
    bodies = {}
    good = _body(_request(matrix))
    for where, row in (("first", 3), ("second", N_ROWS - 3)):
        wrong = matrix.copy()
        wrong[row, 1] = 1.5
        bodies[f"score out of range, {where} part"] = _body(_request(wrong))
        wrong[row, 1] = -0.25
        bodies[f"negative score, {where} part"] = _body(_request(wrong))
        value = json.dumps(matrix[row, 2]).encode()
        assert good.count(value) == 1
        bodies[f"NaN, {where} part"] = good.replace(value, b"NaN")
        bodies[f"a string, {where} part"] = good.replace(value, b'"0.5"')
        bodies[f"a value missing, {where} part"] = good.replace(value + b", ", b"")
        bodies[f"a value too many, {where} part"] = good.replace(value, value + b", 0.5")
        bodies[f"1e400, {where} part"] = good.replace(value, b"1e400")
    wrong = matrix.copy()
    wrong[2, 0], wrong[-2, 4] = -1.0, 2.0
    bodies["culprits in both parts"] = _body(_request(wrong))
    request = _request(matrix)
    request["inputs"][0]["shape"] = [N_ROWS + 1, len(TAGS)]
    bodies["a row fewer than the shape"] = _body(request)
    request["inputs"][0]["shape"] = [N_ROWS - 1, len(TAGS)]
    bodies["a row more than the shape"] = _body(request)
    request["inputs"][0]["shape"] = [N_ROWS, len(TAGS)]
    request["inputs"][0]["datatype"] = "FP32"
    request["inputs"][0]["data"] = ((matrix + 1) * 1e300).ravel().tolist()
    bodies["FP32 beyond its range"] = _body(request)
    bodies["trailing garbage"] = good + b" x"
    bodies["cut short"] = good[:-3]
    return bodies


def _other_bodies(matrix: np.ndarray) -> dict[str, bytes]:
    """Bodies that are not the plain case (never cut), refused or not."""
    bodies = {}
    request = _request(matrix)
    request["inputs"][0]["data"] = matrix.tolist()
    bodies["nested data"] = _body(request)
    request = _request(matrix, outputs=[{"name": "other"}])
    bodies["an output it has not"] = _body(request)
    request = _request(matrix, id="i" * 2000)
    bodies["long id"] = _body(request)
    request = _request(matrix)
    request["inputs"].append(dict(request["inputs"][0]))
    bodies["two inputs"] = _body(request)
    request = _request(matrix)
    request["inputs"][0]["datatype"] = "INT64"
    bodies["INT64"] = _body(request)
    return bodies


def test_split_answers_are_the_whole_answers(model: Strategy, joined: list[bool]) -> None:
    split = create_app(model, process_above=1000, split_above=2000, max_tracks=N_ROWS)
    whole = create_app(model, process_above=1000, split_above=None, max_tracks=N_ROWS)
    matrix = _matrix()
    good, bad, other = _good_bodies(matrix), _bad_bodies(matrix), _other_bodies(matrix)
    bodies = {**good, **bad, **other}
    assert min(len(body) for body in bodies.values()) > 2000
    answers: dict[str, list[tuple[int, bytes]]] = {}
    in_parts: dict[str, list[bool]] = {}  # each body's joins in the split app
    for app in (split, whole):
        with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            for name, body in bodies.items():
                before = len(joined)
                response = http.post(INFER, content=body)
                answers.setdefault(name, []).append((response.status_code, response.content))
                if app is split:
                    in_parts[name] = joined[before:]
    assert {name: in_parts[name] for name in good} == {name: [True] for name in good}
    # each bad body was cut and its parts not trusted, but for those that a plain request
    # cannot be (garbage after it, cut short, more rows than allowed); the others never
    uncut = {"trailing garbage", "cut short", "a row fewer than the shape"}
    assert {name: in_parts[name] for name in bad} == {
        name: [] if name in uncut else [False] for name in bad
    }
    assert {name: in_parts[name] for name in other} == {name: [] for name in other}
    for name, (from_parts, from_whole) in answers.items():
        assert from_parts == from_whole, name
    expected = _expected(model, matrix)
    for name in good:
        status, content = answers[name][0]
        assert status == 200, (name, content[:200])
        output = json.loads(content)["outputs"][0]
        assert output["shape"] == [N_ROWS, len(TAGS)]
        if name != "FP32":
            assert output["data"] == expected, name
    assert json.loads(answers["id, outputs and parameters"][0][1])["id"] == "request-7"
    statuses = {name: answers[name][0][0] for name in {**bad, **other}}
    assert statuses.pop("nested data") == 200  # valid, and decided whole
    assert all(status in (400, 413, 422) for status in statuses.values()), statuses
    error = msgspec.json.decode(answers["culprits in both parts"][0][1])["error"]
    assert error.startswith("scores must be numbers in [0, 1]: row 2 'blues-rock' = -1.0, row")
    error = msgspec.json.decode(answers["a value missing, second part"][0][1])["error"]
    assert error == f"inputs[0].data: {N_ROWS * len(TAGS) - 1} values; the shape " + (
        f"[{N_ROWS}, {len(TAGS)}] holds {N_ROWS * len(TAGS)}"
    )


def test_a_worker_killed_while_deciding_its_part(
    model: Strategy, joined: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second part's worker dies as it is given its part: the request gets the answer
    of a stopped worker (500, one line), the next is decided in parts again, and no
    segment is left behind."""
    killed = kill_a_worker_at_its_part(monkeypatch, after_byte=1000, infer=True)
    matrix = _matrix()
    app = create_app(model, process_above=1000, split_above=2000)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        first = http.post(INFER, content=_body(_request(matrix)))
        assert first.status_code == 500
        assert first.json() == {"error": "the worker process stopped; try again"}
        assert killed
        second = http.post(INFER, content=_body(_request(matrix)))
        assert second.status_code == 200
        assert second.json()["outputs"][0]["data"] == _expected(model, matrix)
        assert http.get("/v2/health/ready").status_code == 200
    assert joined == [True]  # the second request, in parts (the first never got to join)


def test_bodies_are_decided_whole_when_parts_do_not_pay(
    model: Strategy, joined: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lanes, "idle_cores", lambda: 1)
    matrix = _matrix()
    app = create_app(model, process_above=1000, split_above=2000)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        response = http.post(INFER, content=_body(_request(matrix)))
    assert response.status_code == 200
    assert response.json()["outputs"][0]["data"] == _expected(model, matrix)
    assert joined == []


def _split_answer(decider: Decider, body: bytes, n_parts: int) -> tuple[tuple[int, bytes], bool]:
    """What the lanes answer: the parts' joined answer if the body is cut and every part
    is trusted, else the whole body's; and whether it was the parts'."""
    plan = decider.infer_parts(body, n_parts)
    if plan is not None:
        answers = [
            decider.decide_infer_part(b"[" + body[start:end] + b"]", n_rows, plan.datatype)
            for start, end, n_rows in plan.parts
        ]
        joined = decider.join_infer_parts(plan, answers)
        if joined is not None:
            return (200, joined), True
    return decider.infer(body), False


MUTATIONS = [b"", b",", b"]", b"[", b"NaN", b'"', b"1e400", b" ", b"-", b"0.5, ", b"}", b"2"]


def test_mangled_bodies_get_the_whole_answer(model: Strategy) -> None:
    """Bodies of random layouts with a few bytes replaced at random places (in the data,
    near a cut, in the rest of the request): the split answer is the whole one, always."""
    decider = Decider(model, name="model", max_tracks=60)
    rng = np.random.default_rng(7)
    n_joined = 0
    for case in range(300):
        n_rows = int(rng.integers(2, 40))
        matrix = rng.uniform(size=(n_rows, len(TAGS))).round(int(rng.integers(1, 6)))
        if case % 5 == 2:  # a culprit in a random row
            matrix[rng.integers(n_rows), rng.integers(len(TAGS))] = 1.0 + 1e-9
        request = _request(matrix, id=f"r{case}") if case % 3 == 0 else _request(matrix)
        if case % 4 == 1:
            request["inputs"][0]["datatype"] = "FP32"
        body = _body(request, **list(LAYOUTS.values())[case % len(LAYOUTS)])
        for _ in range(int(rng.integers(0, 3))):
            at = int(rng.integers(0, len(body)))
            cut = int(rng.integers(0, 3))
            body = body[:at] + MUTATIONS[int(rng.integers(len(MUTATIONS)))] + body[at + cut :]
        n_parts = int(rng.integers(2, 4))
        whole = decider.infer(body)
        answer, joined = _split_answer(decider, body, n_parts)
        assert answer == whole, body
        n_joined += joined
    assert 50 < n_joined < 250  # many answered from their parts, many not
