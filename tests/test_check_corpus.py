"""The corpus of student bodies (tests/check_corpus/): every correct one passes, every
mistake is named with its kind, nothing crashes, and every fix a verdict suggests,
applied to the body, makes it pass.

The bodies are written from the seed text and chapter 1 of the book (whole cells as
printed, loops only, other names, orders, models and losses); the mistakes are the
classic ones, written out, plus those made mechanically from every correct body
(mean -> sum, a flipped update, lr x 10 and x 2, no zero_grad, a second backward,
rebinding instead of an in-place update).  Short epoch counts keep it fast.
"""

from __future__ import annotations

import shlex

import pytest
from check_corpus.cases import Case, mutations, pasted_stage_code, written_cases
from IPython.utils.capture import capture_output

from linreg_magic.check import Level, Severity, Verdict, run_student
from linreg_magic.check.verdict import apply_edits
from linreg_magic.options import Options
from linreg_magic.registry import BUILTIN_STAGES

WRITTEN = written_cases()
CORRECT = [c for c in WRITTEN if c.level == "correct"]
MUTATED = [m for c in CORRECT for m in mutations(c)]
PASTED = pasted_stage_code()


def options_of(line: str) -> Options:
    words = shlex.split(line)
    pairs = zip(words[::2], words[1::2])
    return Options.from_mapping({flag[2:].replace("-", "_"): value for flag, value in pairs})


def _first(verdict: Verdict) -> str | None:
    if verdict.level is Level.CORRECT:
        return None
    severity = Severity.MISTAKE if verdict.level is Level.NOT_YET else Severity.NOTE
    return next(f.kind.value for f in verdict.findings if f.severity is severity)


def judge(case: Case) -> None:
    options = options_of(case.line)
    verdict = run_student(options, case.body).verdict
    assert (verdict.level.value, _first(verdict)) == (case.level, case.kind), verdict
    if verdict.level is Level.NOT_YET and not case.fix_in_words:
        assert verdict.edits, f"{case.name}: the fix is not an edit of the body: {verdict}"
        again = run_student(options, apply_edits(case.body, verdict.edits)).verdict
        assert again.passed, f"{case.name}: the suggested fix did not make it pass: {again}"


@pytest.mark.parametrize("case", WRITTEN, ids=[c.name for c in WRITTEN])
def test_a_written_body_gets_its_verdict(case: Case) -> None:
    judge(case)


@pytest.mark.parametrize("case", MUTATED, ids=[c.name for c in MUTATED])
def test_a_mistake_made_from_a_correct_body_is_named(case: Case) -> None:
    judge(case)


@pytest.mark.parametrize("case", PASTED, ids=[c.name for c in PASTED])
def test_the_stages_own_code_pasted_as_a_body_is_correct(case: Case) -> None:
    judge(case)


def test_the_corpus_covers_every_stage_and_every_classic_mistake() -> None:
    assert len(WRITTEN) >= 80
    assert {c.stage for c in CORRECT} == set(BUILTIN_STAGES)
    assert {c.stage for c in WRITTEN if c.level == "not yet"} == set(BUILTIN_STAGES)
    named = {c.kind for c in WRITTEN + MUTATED}
    assert {"loss_sum", "flipped_sign", "own_lr", "no_zero_grad", "second_backward", "rebinding",
            "in_place_leaf", "non_leaf", "numpy_requires_grad", "numpy_data", "no_parameter",
            "no_super_init", "forward_return", "shape", "epochs", "optimizer_params", "stage",
            "graph_grows", "name", "no_training", "gradient", "dynamics", "optimizer_settings",
            "not_linear"} <= named
    made = {c.name.split("+")[1] for c in MUTATED}
    assert made == {"mean_to_sum", "flipped_sign", "lr_times_10", "lr_times_2", "no_zero_grad",
                    "second_backward", "rebinding"}


@pytest.mark.parametrize("stage", list(BUILTIN_STAGES))
def test_no_view_crashes_a_cell_for_any_body_of_the_corpus(ip, stage: str) -> None:
    for case in [c for c in WRITTEN if c.stage == stage]:
        with capture_output() as captured:
            ip.run_cell_magic("linreg", case.line + " --show params,fit,loss,surface,graph", case.body)
        assert not captured.stderr, (case.name, captured.stderr)
        texts = [o.data.get("text/plain", "") for o in captured.outputs]
        assert not any(": not drawn (" in t for t in texts), (case.name, texts)
