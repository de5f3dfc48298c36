"""scripts/asyncio-conformance, the harness itself: its expected list, its verdict, the test classes
it builds from the running interpreter's test.test_asyncio, and that a hung or crashing test does
not stop it (the harness runs CPython's asyncio tests against uvffi.aio; those runs are not here)."""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import json
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "asyncio-conformance"


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("asyncio_conformance", str(SCRIPT))
    spec = importlib.util.spec_from_loader("asyncio_conformance", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


if not SCRIPT.exists():
    pytest.skip("scripts/asyncio-conformance is not here: not a source checkout (an installed wheel's test run)",
                allow_module_level=True)
ac = _load()


def _has_test_asyncio() -> bool:
    try:
        import test.test_asyncio  # noqa: F401
    except ImportError:
        return False
    return True


needs_test_asyncio = pytest.mark.skipif(
    not _has_test_asyncio(),
    reason="this interpreter has no test.test_asyncio (Debian's PyPy: the pypy3-lib-testsuite package)")


# -- the expected list ----------------------------------------------------------------------------

def test_parse_expected_entries_and_conditions() -> None:
    entries = ac.parse_expected(textwrap.dedent("""\
        # a comment

        test_events::EventLoopTests::test_a  a reason with  spaces
        test_streams::StreamTests  the whole class
        test_ssl [py>=3.11, cpython] only there
        test_x::*::test_y  a glob
    """))
    assert [e.pattern for e in entries] == ["test_events::EventLoopTests::test_a", "test_streams::StreamTests",
                                            "test_ssl", "test_x::*::test_y"]
    assert entries[0].reason == "a reason with  spaces" and entries[0].lineno == 3
    assert [e.exact for e in entries] == [True, False, False, False]
    assert entries[2].conditions == ("py>=3.11", " cpython")
    assert entries[1].matches("test_streams::StreamTests::test_b")
    assert not entries[1].matches("test_streams::StreamTestsX::test_b")
    assert not entries[0].matches("test_events::EventLoopTests::test_ab")
    assert entries[3].matches("test_x::C::test_y")


def test_parse_expected_rejects_an_entry_without_reason_or_with_unknown_condition() -> None:
    with pytest.raises(ValueError, match=":2: an entry needs a reason"):
        ac.parse_expected("# header\ntest_events::EventLoopTests::test_a\n")
    with pytest.raises(ValueError, match="needs a reason"):
        ac.parse_expected("test_events::EventLoopTests::test_a [pypy]\n")
    with pytest.raises(ValueError, match="unknown condition"):
        ac.parse_expected("test_events [windows] why\n")


@pytest.mark.parametrize("conditions, impl, version, applies", [
    ((), "CPython", (3, 9), True),
    (("pypy",), "PyPy", (3, 9), True),
    (("pypy",), "CPython", (3, 9), False),
    (("py>=3.12",), "CPython", (3, 11), False),
    (("py>=3.12",), "CPython", (3, 12), True),
    (("py<3.12", "cpython"), "CPython", (3, 11), True),
    (("py3.13",), "CPython", (3, 13), True),
    (("py3.13",), "CPython", (3, 12), False),
])
def test_entry_conditions(conditions: Tuple[str, ...], impl: str, version: Tuple[int, int], applies: bool) -> None:
    assert ac.Entry("test_events", "why", 1, conditions).applies(impl, version) is applies


# -- the verdict ------------------------------------------------------------------------------------

A = "test_events::EventLoopTests::test_a"
B = "test_events::EventLoopTests::test_b"
C = "test_streams::StreamTests::test_c"


def _results(**outcomes: str) -> Dict[str, Tuple[str, str]]:
    ids = {"a": A, "b": B, "c": C}
    return {ids[k]: (v, "traceback") for k, v in outcomes.items()}


def test_check_listed_failures_pass_the_check() -> None:
    entries = ac.parse_expected(f"{A}  known\n{C}  known too\n")
    v = ac.check(_results(a="failed", b="passed", c="timeout"), entries, partial=False,
                 modules_run=["test_events", "test_streams"])
    assert v.status == 0 and v.expected_failures == 2 and not v.unexpected and not v.now_passing


def test_check_an_unexpected_failure_fails_the_check() -> None:
    entries = ac.parse_expected(f"{A}  known\n")
    for outcome in ("failed", "error", "timeout", "crashed"):
        v = ac.check(_results(a="failed", b=outcome), entries, partial=False, modules_run=["test_events"])
        assert v.status == 1 and v.unexpected == [B], outcome


def test_check_a_listed_test_that_passes_or_is_skipped_fails_the_check() -> None:
    entries = ac.parse_expected(f"{A}  known\n")
    for outcome in ("passed", "skipped"):
        v = ac.check(_results(a=outcome), entries, partial=False, modules_run=["test_events"])
        assert v.status == 1 and len(v.now_passing) == 1 and v.now_passing[0].startswith(A), outcome


def test_check_group_entries_report_their_passing_tests_and_fail_when_none_fails() -> None:
    entries = ac.parse_expected("test_events::EventLoopTests  a whole class\n")
    v = ac.check(_results(a="failed", b="passed"), entries, partial=False, modules_run=["test_events"])
    assert v.status == 0 and v.expected_failures == 1
    assert v.info and "test_b" in v.info[0]
    v = ac.check(_results(a="passed", b="skipped"), entries, partial=False, modules_run=["test_events"])
    assert v.status == 1 and "test_events::EventLoopTests (all 2" in v.now_passing[0]


def test_check_ignores_entries_for_other_interpreters() -> None:
    other = "pypy" if sys.implementation.name != "pypy" else "cpython"
    entries = ac.parse_expected(f"{A} [{other}] only there\n")
    v = ac.check(_results(a="failed"), entries, partial=False, modules_run=["test_events"])
    assert v.status == 1 and v.unexpected == [A]
    v = ac.check(_results(a="passed"), entries, partial=False, modules_run=["test_events"])
    assert v.status == 0


def test_check_reports_an_entry_matching_no_test() -> None:
    entries = ac.parse_expected(f"{A}  known\n")
    v = ac.check(_results(b="passed"), entries, partial=False, modules_run=["test_events"])
    assert v.status == 0 and v.stale and A in v.stale[0]
    assert not ac.check(_results(b="passed"), entries, partial=True, modules_run=["test_events"]).stale


def test_updated_expected_drops_passing_and_adds_todo_entries() -> None:
    text = f"# header\n{A}  was failing\n{C}  still failing\ntest_x::*  a group that passes now\n"
    results = {**_results(a="passed", b="timeout", c="failed"), "test_x::K::test_k": ("passed", "")}
    new = ac.updated_expected(text, results, reference={B: ("failed", "")})
    assert "test_x::*" not in new
    assert new.startswith("# header\n")
    assert A not in new and f"{C}  still failing" in new
    assert f"{B}  TODO reason (timeout; asyncio's own loop fails it too)" in new
    entries = ac.parse_expected(new)  # still a valid list
    assert ac.check(_results(a="passed", b="timeout", c="failed"), entries, False, ["test_events"]).status == 0


def test_count() -> None:
    row = ac.count(_results(a="passed", b="crashed", c="skipped"))
    assert row == {"tests": 3, "passed": 1, "failed": 0, "errors": 1, "skipped": 1}


# -- the classes built from the interpreter's own test package -------------------------------------------

class _Sentinel(asyncio.AbstractEventLoop):
    pass


@needs_test_asyncio
@pytest.mark.parametrize("short", list(ac.SPECS))
def test_classes_exist_and_take_the_loop_under_test(short: str) -> None:
    if importlib.util.find_spec(f"test.test_asyncio.{short}") is None:
        assert short in ac.OPTIONAL_MODULES, f"{short} is missing from this interpreter's test.test_asyncio"
        pytest.skip(f"{short}: {ac.OPTIONAL_MODULES[short]}")
    module = ac.import_test_module(short)
    sentinel = _Sentinel()
    classes = ac.build_classes(module, short, lambda: sentinel, set_policy=True)
    assert classes
    from test.test_asyncio import utils as test_utils
    for cls in classes:
        names = unittest.TestLoader().getTestCaseNames(cls)
        assert len(names) > 0, cls
        assert cls.__module__ == module.__name__
        assert "run" in vars(cls)  # sets the policy making the loop under test
        instance: Any = cls(names[0])
        hooks = [h for h in ("create_event_loop", "new_loop") if hasattr(cls, h)]
        for hook in hooks:
            assert getattr(instance, hook)() is sentinel, (cls, hook)
        if ac.SPECS[short][0][1] == "mixins":
            assert issubclass(cls, test_utils.TestCase) and hooks == ["create_event_loop"]
    if short == "test_events":
        names = unittest.TestLoader().getTestCaseNames(classes[0])
        assert "test_run_until_complete" in names and "test_subprocess_exec" in names
    if short == "test_subprocess":
        assert not any("Proactor" in c.__name__ for c in classes)
        assert any("Threaded" in c.__name__ for c in classes)


@needs_test_asyncio
def test_the_policy_hook_makes_the_loop_under_test() -> None:
    made = []

    def factory() -> asyncio.AbstractEventLoop:
        loop = asyncio.SelectorEventLoop()  # not new_event_loop(): that asks the policy, which calls this
        made.append(loop)
        return loop

    module = ac.import_test_module("test_streams")
    (cls,) = ac.build_classes(module, "test_streams", factory, set_policy=True)
    result = unittest.TestResult()
    cls("test_readline")(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert made and all(loop.is_closed() for loop in made)
    asyncio.set_event_loop_policy(None)


@needs_test_asyncio
def test_a_real_module_runs_on_asyncio_and_counts(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--loop", "asyncio", "test_server", "-k", "test_start_server_1",
                        "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    doc = json.loads(out.read_text())
    assert doc["loops"]["asyncio"]["modules"]["test_server"] == {
        "tests": 1, "passed": 1, "failed": 0, "errors": 0, "skipped": 0}
    assert "test_server" in r.stdout and doc["check"] is None


# -- a hung test, a crash: the harness goes on ----------------------------------------------------

FAKE = '''
import os, signal, time, unittest

def conformance_classes(factory):
    class Fake(unittest.TestCase):
        def test_1_passes(self):
            loop = factory()
            loop.close()

        def test_2_hangs(self):
            time.sleep(60)

        def test_3_crashes(self):
            os.kill(os.getpid(), signal.SIGKILL)  # no handler catches it (ASan's would a SIGSEGV)

        def test_4_fails(self):
            self.assertEqual(1, 2)

        def test_5_passes(self):
            pass

        @unittest.skip("not here")
        def test_6_skipped(self):
            pass
    return [Fake]
'''


def test_a_hung_or_crashing_test_is_recorded_and_the_rest_runs(tmp_path: Path) -> None:
    fake = tmp_path / "fake_module.py"
    fake.write_text(FAKE)
    results = ac.run_module("asyncio", str(fake), [], timeout=1.0, module_timeout=60.0, outdir=tmp_path,
                            workdir=tmp_path)
    outcomes = {nid.split("::")[-1]: outcome for nid, (outcome, _) in results.items()}
    assert outcomes == {"test_1_passes": "passed", "test_2_hangs": "timeout", "test_3_crashes": "crashed",
                        "test_4_fails": "failed", "test_5_passes": "passed", "test_6_skipped": "skipped"}
    assert "time.sleep" in results["fake_module::Fake::test_2_hangs"][1] or \
        "test_2_hangs" in results["fake_module::Fake::test_2_hangs"][1]  # faulthandler's stack
    assert "signal 9" in results["fake_module::Fake::test_3_crashes"][1]


def test_a_relative_pythonpath_reaches_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONPATH=src is relative to where the harness starts; the child runs elsewhere."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "conformance_helper_mod.py").write_text("VALUE = 42\n")
    fake = tmp_path / "fake_imports.py"
    fake.write_text("import unittest\n\ndef conformance_classes(factory):\n"
                    "    class Imports(unittest.TestCase):\n"
                    "        def test_import(self):\n"
                    "            import conformance_helper_mod\n"
                    "            self.assertEqual(conformance_helper_mod.VALUE, 42)\n"
                    "    return [Imports]\n")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", "lib")
    results = ac.run_module("asyncio", str(fake), [], timeout=20.0, module_timeout=60.0, outdir=tmp_path,
                            workdir=workdir)
    assert results == {"fake_imports::Imports::test_import": ("passed", "")}


def test_markdown_table() -> None:
    results = {"asyncio": {"test_events": _results(a="passed", b="passed")},
               "uvffi": {"test_events": _results(a="failed", b="passed")}}
    table = ac.markdown_table(["test_events"], ["asyncio", "uvffi"], results).splitlines()
    assert table[2] == "| test_events | 2 / 2 (0) | 1 / 2 (1, 0, 0) |"
    assert table[3] == "| **total** | **2 / 2** (0) | **1 / 2** (1, 0, 0) |"
