"""The pure helpers behind every pane: times, figures, the histogram grid, readiness, escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.text import Text

from kalshi_tui.core.config import load_config
from kalshi_tui.core.model_record import ModelRecord, TrainingMetrics
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.backend import PointerView
from kalshi_tui.tui.widgets.panes import PaneContext, readiness_items
from kalshi_tui.tui.widgets.status_header import ListView, header_lines

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def plain(lines) -> str:
    return "\n".join(line.plain for line in lines)


def test_relative_time_uses_the_given_clock():
    assert fmt.relative_time("2026-01-15T11:57:00Z", NOW) == "3m ago"
    assert fmt.relative_time((NOW - timedelta(days=2)).isoformat(), NOW) == "2d ago"
    assert fmt.relative_time("2026-01-15 12:00:30", NOW) == "in 30s"
    assert fmt.relative_time("not a time", NOW) == "-"
    assert fmt.relative_time(None, NOW) == "-"


def test_figures_and_session_ranges():
    assert fmt.fmt_pct(0.359, fraction=True) == "35.9%"
    assert fmt.fmt_pct("38.5") == "38.5%"
    assert fmt.fmt_pct("n/a") == "-"
    assert fmt.fmt_int("10000") == "10,000"
    assert (
        fmt.fmt_dollars(-12345) == "-123.45 $"
    )  # the core's money, as the report and compare write it
    assert fmt.fmt_dollars(12345, signed=False) == "123.45 $"
    assert fmt.fmt_int("n/a") == "-" and fmt.fmt_float("n/a") == "-"
    assert fmt.session_ranges([10, 5, 6, 7, 32]) == "5-7,10,32"
    assert fmt.session_ranges([]) == "-"


def test_histogram_grid_groups_by_side_and_size():
    layout = load_config(None).environment.layout
    counts = {str(a): 0 for a in range(21)}
    counts["0"] = 50  # HOLD
    counts[str(layout.encode("BUY_YES", 5))] = 30
    counts[str(layout.encode("SELL_NO", 100))] = 20
    text = plain(fmt.histogram_table(counts, layout))
    lines = text.splitlines()
    assert lines[0].split() == ["x5", "x10", "x20", "x50", "x100", "side"]
    assert lines[1].startswith("HOLD") and lines[1].endswith("50.0%")
    buy_yes = next(line for line in lines if line.startswith("BUY_YES"))
    assert buy_yes.split()[1] == "30.0%" and buy_yes.split()[-1] == "30.0%"
    sell_no = next(line for line in lines if line.startswith("SELL_NO"))
    assert sell_no.split()[5] == "20.0%"
    size_row = next(line for line in lines if line.startswith("size"))
    assert size_row.split()[1] == "30.0%" and size_row.split()[5] == "20.0%"
    assert "100 actions counted" in text


def test_histogram_bars_one_per_action_grouped_by_side_and_side_by_side_at_80_columns():
    layout = load_config(None).environment.layout
    counts = {str(a): 0 for a in range(21)}
    counts["0"] = 50  # HOLD
    counts[str(layout.encode("BUY_YES", 5))] = 30
    counts[str(layout.encode("SELL_NO", 100))] = 20
    lines = fmt.histogram_columns(counts, layout, bar_width=11)
    width = fmt.histogram_width(11)
    assert all(line.cell_len == width for line in lines)
    bars = [line.plain for line in lines if line.plain.startswith(("HOLD", " x"))]
    assert len(bars) == 21  # HOLD and 4 sides x 5 sizes, each labelled
    assert bars[0].startswith("HOLD") and bars[0].rstrip().endswith("50.0%")
    assert bars[0].count("█") == 11  # the most played action fills its bar
    sides = [line.plain.split() for line in lines if line.plain.split()[0] in layout.sides]
    assert [side[0] for side in sides] == list(layout.sides)
    assert dict((side[0], side[1]) for side in sides) == {
        "BUY_YES": "30.0%", "SELL_YES": "0.0%", "BUY_NO": "0.0%", "SELL_NO": "20.0%"}
    buy_yes = [line.plain for line in lines].index(next(
        line.plain for line in lines if line.plain.startswith("BUY_YES")))
    assert lines[buy_yes + 1].plain.startswith(" x5") and "30.0%" in lines[buy_yes + 1].plain
    # Training and validation side by side fit an 80-column tab (78 cells inside).
    both = fmt.side_by_side(lines, lines, width)
    assert max(line.cell_len for line in both) <= 78
    assert both[0].plain.count("HOLD") == 2 and both[0].plain.count("50.0%") == 2


def test_histogram_with_ids_beyond_the_layout_shows_ids_not_guessed_labels():
    layout = load_config(None).environment.legacy_layout
    text = plain(fmt.histogram_table({"0": 1, "7": 3}, layout))
    assert "action   7" in text and "BUY" not in text
    assert "no action histogram" in plain(fmt.histogram_table(None, layout))


def test_readiness_answers_from_evidence():
    env = load_config(None).environment
    record = ModelRecord(path="a.zip", abs_path="/x/a.zip", name="a", verdict="compatible",
                         action_space_type="Discrete", n_actions=21, sha256="ab" * 32,
                         metrics=TrainingMetrics(sources={"episodes": "training_results.json"}))
    items = {item: done for done, item, _ in readiness_items(PaneContext(record, env, "OK"))}
    assert items["action space confirmed"] is True
    assert items["file valid"] is True
    assert items["training summary analysed"] is True
    assert items["loads and infers"] is None  # not run: neither passed nor failed
    assert items["validated on sessions"] is None
    legacy = ModelRecord(path="b.zip", abs_path="/x/b.zip", name="b", verdict="incompatible",
                         action_space_type="Discrete", n_actions=5, reasons=["legacy"])
    items = {
        item: done for done, item, _ in readiness_items(PaneContext(legacy, env, "LEGACY 5-ACT"))
    }
    assert items["action space confirmed"] is False
    assert items["training summary analysed"] is False


def test_file_strings_are_never_markup():
    """A name like `[@click=app.quit]` renders as those characters, not as an action."""
    record = ModelRecord(path="[@click=app.quit]x.zip", abs_path="/m/x.zip",
                         name="[b]bold[/b]", verdict="compatible")
    env = load_config(None).environment
    from kalshi_tui.tui.widgets.panes import provenance_lines

    text = plain(provenance_lines(PaneContext(record, env, "OK")))
    assert "[@click=app.quit]x.zip" in text
    pointer = PointerView(revision=3, model_path="[@click=app.quit]x.zip", badge="OK",
                          last_who="[red]eve[/red]", last_when="2026-01-15T11:00:00Z",
                          last_why="[link=http://x]why[/link]", last_action="promote")
    lines = header_lines(pointer, read_only=True, now=NOW,
                         view=ListView(loaded=True, total=1, compatible=1, shown=1),
                         models_dir="trained_models/")
    rendered = plain(lines)
    assert "[@click=app.quit]x.zip" in rendered
    assert "[red]eve[/red]" in rendered and "[link=http://x]why[/link]" in rendered
    assert "READ-ONLY" in rendered and "1h ago" in rendered
    assert all(
        not span.style or "@click" not in str(span.style) for line in lines for span in line.spans
    )


def test_file_text_escapes_and_screen_lines_keeps_styles_and_our_newlines():
    shown = fmt.file_text("a\x1b[2J\x07\nb\x9b\u202e\udcff", style="bold")
    assert shown.plain == "a\\x1b[2J\\x07\\nb\\x9b\\u202e\\udcff" and str(shown.style) == "bold"
    # A line a builder made from raw text: each styled run escaped, its style kept on it.
    raw = Text("who ", style="dim")
    raw.append("op\x1b[2J", style="bold")
    raw.append(" \u202eend")
    joined = fmt.screen_lines([raw, Text("second")])
    assert joined.plain == "who op\\x1b[2J \\u202eend\nsecond"
    bold = [joined.plain[s.start:s.end] for s in joined.spans if str(s.style) == "bold"]
    assert bold == ["op\\x1b[2J"]
    clean = Text("nothing to escape")
    assert fmt.escaped_line(clean) is clean


def test_header_alarm_line():
    pointer = PointerView(
        revision=7, model_path="gone.zip", alarm="current model missing: gone.zip"
    )
    lines = header_lines(pointer, read_only=False, now=NOW, view=ListView(loaded=True),
                         models_dir="m/")
    assert lines[-1].plain.strip() == "ALARM: current model missing: gone.zip"
    assert "white on red" in str(lines[-1].style)


def test_long_names_are_cut_in_the_middle_so_checkpoints_stay_apart():
    from kalshi_tui.tui.widgets.model_list import fit_name

    a = "session32_ppo_20260103_001549/model_15000_steps"
    b = "session32_ppo_20260103_001549/model_30000_steps"
    for width in (24, 27, 33, 40):
        assert len(fit_name(a, width)) == width
        assert fit_name(a, width) != fit_name(b, width)
        assert fit_name(a, width).startswith("session32_")
    assert fit_name(a, 60) == a
    assert (
        fit_name("session10_ppo_20251211_173419", 20) == "session10_ppo_20251211_173419"
    )  # cut by the row


def test_compare_histograms_share_a_row_per_action_id(workspace):
    """21 against 5 actions: each id on one row, each model's own label, '-' past its last
    action."""
    import dataclasses

    from rich.console import Console

    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.model_record import TrainingMetrics
    from kalshi_tui.tui.screens.compare import histogram_columns

    config = workspace.config()
    by_path = {r.path: r for r in scan_catalog(config).records}
    wide = by_path["session10_ppo_20251211_173419/model.zip"]
    legacy = dataclasses.replace(by_path["session5_ppo_20251120_101500/trained_model.zip"],
                                 metrics=TrainingMetrics(action_histogram={"0": 3, "4": 1}))
    console = Console(width=118, record=True)
    console.print(histogram_columns(wide, legacy, config.environment))
    rows = {line.split()[0]: line.split() for line in console.export_text().splitlines()
            if line.strip() and line.split()[0].isdigit() and "counted" not in line}
    assert sorted(rows, key=int) == [str(i) for i in range(21)]
    assert rows["0"][1:3] == ["HOLD", "HOLD"] and rows["0"][-2:] == ["75.0%", "██████████████"]
    assert rows["4"][1:4] == ["BUY_YES", "x50", "SELL_NO"] and "25.0%" in rows["4"]
    assert (
        rows["5"][1:4] == ["BUY_YES", "x100", "-"] and rows["5"][-1] == "-"
    )  # the 5-action model has no action 5


def test_header_says_loading_before_the_first_scan_and_marks_every_filter():
    pointer = PointerView(revision=10, model_path="run/model.zip", badge="OK")
    loading = plain(header_lines(pointer, read_only=False, now=NOW, view=ListView(),
                                 models_dir="m/"))
    assert "loading..." in loading and "0 models" not in loading
    view = ListView(loaded=True, total=20, compatible=12, shown=3, filter_text="ppo",
                    compatible_only=True)
    narrowed = plain(header_lines(pointer, read_only=False, now=NOW, models_dir="m/", view=view))
    assert "3 of 20 shown" in narrowed and "compatible only" in narrowed
    assert "filter: ppo" in narrowed
    # The revision and badge come before the path, which is what a narrow header cuts.
    assert "Current: rev 10   OK   run/model.zip" in narrowed
