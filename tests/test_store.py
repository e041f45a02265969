"""The artifact store: round trips on a folder, memory:// and S3 (moto server), key safety, atomic writes."""

from __future__ import annotations

import os
import socket
import threading
import uuid

import pytest

from storage import Store, UnsafeKeyError

PAYLOAD = {"verdicts": [{"item": "q1", "status": "answered"}], "cost": 0.25}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port())
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


def _s3_store(endpoint: str) -> Store:
    import s3fs

    bucket = f"mtavg-{uuid.uuid4().hex[:10]}"
    options = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": endpoint}}
    s3fs.S3FileSystem(**options).mkdir(bucket)
    return Store(f"s3://{bucket}/runs-root", **options)


@pytest.fixture(params=["local", "memory", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return Store(str(tmp_path / "store"))
    if request.param == "memory":
        return Store(f"memory://mtavg-{uuid.uuid4().hex[:10]}")
    return _s3_store(request.getfixturevalue("s3_endpoint"))


def test_bytes_and_json_round_trip(store):
    key = "clips/procedural/abc123/manifest.json"
    assert not store.exists(key)
    store.put_json(key, PAYLOAD)
    assert store.exists(key) and store.get_json(key) == PAYLOAD
    store.put_bytes("clips/procedural/abc123/stems/voice.wav", b"\x00\x01RIFF" * 1000)
    assert store.get_bytes("clips/procedural/abc123/stems/voice.wav") == b"\x00\x01RIFF" * 1000
    store.put_bytes(key, b"{}")  # overwrite
    assert store.get_json(key) == {}


def test_put_file_open_and_list(store, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(os.urandom(300_000))
    store.put_file("clips/gen/k1/clip.mp4", source)
    with store.open("clips/gen/k1/clip.mp4") as fh:
        assert fh.read() == source.read_bytes()
    store.put_json("clips/gen/k2/manifest.json", PAYLOAD)
    store.put_json("verdicts/probes/ab/batch.json", PAYLOAD)
    assert store.list("clips") == ["clips/gen/k1/clip.mp4", "clips/gen/k2/manifest.json"]
    assert store.list("clips/gen/k2") == ["clips/gen/k2/manifest.json"]
    assert store.list("nothing-here") == []
    with pytest.raises(ValueError, match="atomic"):
        with store.open("clips/gen/k1/clip.mp4", "wb"):
            pass


def test_missing_key_is_a_key_error(store):
    with pytest.raises(KeyError, match="no artifact"):
        store.get_bytes("verdicts/none/00/missing.json")


@pytest.mark.parametrize("key", [
    "", "../escape.json", "clips/../../escape", "/etc/passwd", "clips\\evil", "clips//double", "clips/", "./clips",
    "clips/..", "clips/.hidden/x",
])
def test_unsafe_keys_are_refused_before_any_io(tmp_path, key):
    store = Store(str(tmp_path / "root"))
    for action in (lambda: store.put_bytes(key, b"x"), lambda: store.get_bytes(key), lambda: store.exists(key),
                   lambda: store.url_for(key)):
        with pytest.raises(UnsafeKeyError):
            action()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["root"]


def test_s3_urls_point_into_the_bucket(s3_endpoint):
    store = _s3_store(s3_endpoint)
    assert store.url_for("runs/r1/manifest.json").startswith("s3://mtavg-")
    assert store.url_for("runs/r1/manifest.json").endswith("/runs-root/runs/r1/manifest.json")


def test_local_writes_leave_no_temporary_files(tmp_path):
    store = Store(str(tmp_path / "store"))
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(2_000_000))
    for n in range(5):
        store.put_bytes(f"clips/g/k{n}/a.bin", os.urandom(1000))
        store.put_file(f"clips/g/k{n}/b.bin", source)
        store.put_json(f"clips/g/k{n}/m.json", PAYLOAD)
    names = [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert len(names) == 15 and not [n for n in names if n.startswith(".tmp")]


def test_readers_never_see_a_partial_write(tmp_path):
    store = Store(str(tmp_path / "store"))
    key = "verdicts/judge/ab/batch.json"
    size = 1_500_000
    payloads = [bytes([n]) * size for n in range(1, 5)]
    store.put_bytes(key, payloads[0])
    stop = threading.Event()
    bad: list[str] = []

    def write(payload: bytes) -> None:
        for _ in range(8):
            store.put_bytes(key, payload)

    def read() -> None:
        reads = 0
        while not stop.is_set() or reads < 20:
            data = store.get_bytes(key)
            reads += 1
            if len(data) != size or data.count(data[:1]) != size:
                bad.append(f"read {reads}: {len(data)} bytes, mixed={data.count(data[:1]) != size}")

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert not bad, bad[:3]
    assert store.get_bytes(key) in payloads
    assert [p.name for p in (tmp_path / "store").rglob(".tmp-*")] == []
