import io

from vouch.ops.progress import Progress, progress_text


def test_the_line_shows_rows_of_the_total_and_the_rate():
    text = progress_text(done=25_000, total=100_000, seconds=10)

    assert text == "[########......................] 25,000 of 100,000 rows read (25%), 2,500 rows/s"
    assert progress_text(done=500, total=None, seconds=0.5) == "500 rows read, 1,000 rows/s"


def test_off_a_terminal_a_line_every_ten_thousand_rows():
    out, ticks = io.StringIO(), iter(range(100))
    progress = Progress(out, total=25_000, clock=lambda: next(ticks))

    for done in range(500, 25_001, 500):
        progress(done)
    progress.finish()

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("10,000 of 25,000 rows read (40%), 500 rows/s")
