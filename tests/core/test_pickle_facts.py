"""The one opcode walk of a model's pickles, as the listing uses it: the globals it lists
equal a plain pickletools walk's, SB3's episode buffer matched exactly, base64 decoded as
SB3 decodes it, nothing ever run."""

from __future__ import annotations

import base64
import pickle

from model_factory import malicious_pickle_b64

from kalshi_tui.core.sb3.model_zip import pickle_globals, pickle_globals_of_bytes


def test_pickle_globals_lists_without_running(tmp_path):
    canary = tmp_path / "canary"
    names = pickle_globals(malicious_pickle_b64(canary))
    assert names == ["builtins.eval"]
    assert not canary.exists()
    import os

    for protocol in range(6):
        raw = pickle.dumps([os.system, dict], protocol=protocol)
        assert pickle_globals(base64.b64encode(raw).decode())[0] in ("posix.system", "nt.system")
    assert pickle_globals("not base64 !!") == []
    assert pickle_globals_of_bytes(b"\x80\x05\x95\x00garbage") == ["<malformed pickle>"]


def test_globals_remembered_around_a_large_bytes_argument_follow_the_bytes_around_it():
    """Checkpoints' _last_obs pickles differ only inside the array's bytes; a pickle whose
    opcodes after those bytes differ (a payload appended) must never get the memo's answer."""
    import collections
    import os

    first = pickle.dumps([b"x" * 200, collections.OrderedDict], protocol=4)
    second = pickle.dumps([b"y" * 200, collections.OrderedDict], protocol=4)
    evil = pickle.dumps([b"y" * 200, collections.OrderedDict, os.system], protocol=4)
    assert pickle_globals_of_bytes(first) == ["collections.OrderedDict"]
    assert pickle_globals_of_bytes(second) == ["collections.OrderedDict"]
    assert pickle_globals_of_bytes(evil)[-1] in ("posix.system", "nt.system")


def test_episode_records_skipped_in_runs_keep_every_global_around_them():
    """ep_info_buffer's hundred {r, l, t} records are skipped as runs, exactly: globals before,
    between and after them are all listed, and memo references after a run still resolve."""
    import collections
    import os

    import cloudpickle

    def episodes(lengths):
        return [{"r": 0.5 * i, "l": length, "t": 3.25 * i} for i, length in enumerate(lengths)]

    mixed = [7, 300, 70_000] * 30 + [1_000] * 40  # every int width, and a long run of one
    plain = cloudpickle.dumps(collections.deque(episodes(mixed), maxlen=100))
    assert pickle_globals_of_bytes(plain) == ["collections.deque"]
    evil = cloudpickle.dumps(
        [
            collections.deque(episodes(mixed)),
            os.system,
            collections.OrderedDict,
            episodes([5, 6]),
            os.system,
        ]
    )
    names = pickle_globals_of_bytes(evil)
    assert names[0] == "collections.deque" and "collections.OrderedDict" in names
    assert names[1] in ("posix.system", "nt.system") and len(names) == 3


def _pickletools_globals(raw):
    """The globals a plain pickletools walk lists: GLOBAL/INST inline, STACK_GLOBAL from the
    two strings pushed before it (directly or through the memo)."""
    import pickletools

    found, pushed, memo = [], [], {}
    for opcode, arg, _pos in pickletools.genops(raw):
        name = opcode.name
        if name in ("GLOBAL", "INST"):
            found.append(str(arg).replace(" ", "."))
            pushed.append(None)
        elif name == "STACK_GLOBAL":
            found.append(f"{pushed[-2]}.{pushed[-1]}")
            pushed[-2:] = [None]
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            pushed.append(str(arg))
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = pushed[-1] if pushed else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(int(arg)))
        elif name not in ("FRAME", "PROTO", "STOP"):
            pushed.append(None)
    return list(dict.fromkeys(found))


def test_the_listed_globals_are_the_pickletools_walks_on_random_pickles():
    """The one opcode walk (and its episode-buffer match) lists what a plain pickletools walk
    lists, on random structures mixing arrays, episode records and real globals."""
    import collections
    import os
    import random

    import cloudpickle
    import numpy as np

    rng = random.Random(7)

    def anything(depth=0):
        roll = rng.random()
        if depth > 3 or roll < 0.2:
            return rng.choice([1, 2.5, "s", None, True, b"x" * rng.randint(0, 80), 10**12, -3])
        if roll < 0.35:
            return collections.deque(
                [
                    {
                        "r": rng.uniform(-5, 5),
                        "l": rng.choice([5, 500, 70_000]),
                        "t": rng.uniform(0, 9),
                    }
                    for _ in range(rng.randint(0, 30))
                ]
            )
        if roll < 0.45:
            return np.arange(rng.randint(1, 80), dtype=np.float32)
        if roll < 0.55:
            return rng.choice([os.system, collections.OrderedDict, print, len])
        if roll < 0.8:
            return [anything(depth + 1) for _ in range(rng.randint(0, 4))]
        return {str(i): anything(depth + 1) for i in range(rng.randint(0, 4))}

    for _ in range(200):
        value = anything()
        for protocol in (2, 4, 5):
            raw = cloudpickle.dumps(value, protocol=protocol)
            assert pickle_globals_of_bytes(raw) == _pickletools_globals(raw)


def test_base64_is_decoded_exactly_as_sb3_decodes_it():
    """SB3's own decoder's bytes, for well-formed and odd texts alike."""
    import binascii
    import random

    from kalshi_tui.core.sb3.pickle_facts import decode_as_sb3

    def sb3(text):
        try:
            return base64.b64decode(text.encode())  # what stable_baselines3's json_to_data does
        except (binascii.Error, ValueError) as exc:
            return type(exc)

    def ours(text):
        try:
            return decode_as_sb3(text)
        except (binascii.Error, ValueError) as exc:
            return type(exc)

    rng = random.Random(3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!\n -_é"
    texts = ["YQ==YQ==", "YR==", "abcd=", "Y Q = =", "", "===="]
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(20_000)
    ]
    texts += [base64.b64encode(rng.randbytes(rng.randrange(60))).decode() for _ in range(5_000)]
    assert [ours(t) for t in texts] == [sb3(t) for t in texts]


def test_a_whole_episode_buffer_is_matched_at_once_and_lists_what_the_walk_lists():
    """SB3's ep_info_buffer, matched whole by one regular expression: only where it is
    exactly that (every int width, 1 to 100 episodes, any maxlen), and then with what the
    opcode walk finds (its one global, no problem); anything more (a global appended, a
    record with another key) is walked."""
    import collections
    import os
    import random

    import cloudpickle

    from kalshi_tui.core.sb3 import pickle_facts
    from kalshi_tui.core.sb3.trader_safety import walk_data_pickle

    rng = random.Random(11)
    for count in (1, 2, 3, 50, 100):
        for maxlen in (100, 300, 70_000):
            buffer = collections.deque(maxlen=maxlen)
            for _ in range(count):
                buffer.append(
                    {
                        "r": rng.uniform(-99, 99),
                        "l": rng.choice([3, 900, 99_999, -4]),
                        "t": rng.uniform(0, 9e3),
                    }
                )
            raw = cloudpickle.dumps(buffer)
            assert pickle_facts._EPISODE_BUFFER.fullmatch(raw) is not None, (count, maxlen)
            walked = walk_data_pickle(raw)
            assert walked.problem is None and walked.globals == ("collections.deque",)
            assert (
                pickle_globals_of_bytes(raw) == _pickletools_globals(raw) == ["collections.deque"]
            )
    odd = [
        collections.deque([{"r": 1.0, "l": 2, "t": 3.0}, os.system]),
        collections.deque([{"r": 1.0, "l": 2, "t": 3.0, "extra": print}]),
        collections.deque(
            [{"r": 1.0, "l": 2, "t": 3.0}, {"r": 1.0, "l": 2, "t": collections.Counter}]
        ),
    ]
    for value in odd:
        raw = cloudpickle.dumps(value)
        assert pickle_facts._EPISODE_BUFFER.fullmatch(raw) is None
        assert pickle_globals_of_bytes(raw) == _pickletools_globals(raw)
        assert len(pickle_globals_of_bytes(raw)) == 2


def test_a_numpy_array_is_walked_with_its_bytes_zeroed_and_gets_the_walks_own_facts():
    """A cloudpickled array (`_last_obs`) is recognised by its exact opcode frame and walked
    with zeroed bytes (remembered across checkpoints): its facts, the real bytes included,
    equal a fresh walk's for every dtype, shape, order and byte order; a pickle that only
    starts like one (a global after it, the bytes fetched again, a length that lies) is
    walked as it is."""
    import os

    import cloudpickle
    import numpy as np

    from kalshi_tui.core.sb3 import pickle_facts

    def fresh(raw):
        return pickle_facts._walk.__wrapped__("data", raw)

    rng = np.random.default_rng(5)
    arrays = [
        rng.standard_normal((1, 52)).astype(np.float32),
        rng.standard_normal(52),
        rng.integers(-9, 9, (3, 4, 5)),
        rng.standard_normal((1, 300)).astype(">f4"),
        np.asfortranarray(rng.standard_normal((6, 7))),
        np.zeros((0, 52), dtype=np.float32),
        rng.integers(0, 2, 9).astype(bool),
    ]
    for array in arrays:
        raw = cloudpickle.dumps(array)
        assert pickle_facts._array_bytes(raw) is not None, (array.dtype, array.shape)
        facts = pickle_facts.data_pickle_facts(raw)
        assert facts == fresh(raw) and facts.problem is None
        assert facts.array is not None and facts.array.data == array.tobytes(order="A")
    one, two = (cloudpickle.dumps(rng.standard_normal((1, 52)).astype(np.float32))
                for _ in range(2))
    assert pickle_facts.data_pickle_facts(one).array != pickle_facts.data_pickle_facts(two).array
    array = rng.standard_normal((1, 52)).astype(np.float32)
    raw = cloudpickle.dumps(array)
    start, end = pickle_facts._array_bytes(raw)
    hostile = [
        cloudpickle.dumps([array, os.system]),  # another call after the array
        raw[:-1] + b"h\x03\x85\x94R\x94.",  # the bytes fetched from the memo and used again
        raw[: start - 8] + (end - start + 9).to_bytes(8, "little") + raw[start:],  # lying
        raw[: start - 8] + (end - start - 1).to_bytes(8, "little") + raw[start:],
    ]
    for raw in hostile:
        assert pickle_facts._array_bytes(raw) is None
        assert pickle_facts.data_pickle_facts(raw) == fresh(raw)
    assert pickle_facts.data_pickle_facts(hostile[0]).globals[-1] in ("posix.system", "nt.system")
