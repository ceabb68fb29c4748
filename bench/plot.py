#!/usr/bin/env python3
"""A chart of `make bench`'s table: libaq beside its floor and the peers.

    python3 bench/plot.py TABLE.md OUT.png [TITLE]

TABLE.md is what `make bench` prints (or any file holding that table,
bench/RESULTS.md included: the last table found is used). Draws the
time rows (ns per operation) as grouped bars on a log scale with
Debian's gnuplot (gnuplot-nox, installed with apt-get when missing, as
root), one group per workload. `make bench-plot` runs the bench, then
this.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Rows drawn: the per-operation times, where every peer has a figure.
ROWS = ["switch, ns/switch", "handoff, ns/item", "pingpong, ns/round trip",
        "bulk, ns/item", "fanout, ns/item", "priority, ns/item",
        "spawn warm, ns/task"]


# Columns drawn, in this order, when the table has them (older tables,
# as in bench/RESULTS.md, have only libaq, asyncio and go): name in the
# table's header, title in the key, colour.
COLUMNS = [("libaq", "libaq", "#2a7ab0"), ("floor", "floor (plain C)", "#909090"),
           ("go", "Go", "#60a060"), ("async-channel", "async-channel", "#b05a9a"),
           ("tokio", "tokio", "#c0504d"), ("asyncio", "asyncio", "#e0a030")]


def split_row(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def last_table(text):
    """The last bench table: (its columns drawn, {row label: cells})."""
    starts = [m.start() for m in re.finditer(r"^\| workload \| libaq \|", text,
                                             re.M)]
    if not starts:
        sys.exit("plot.py: no bench table in the input")
    lines = text[starts[-1]:].splitlines()
    head = split_row(lines[0])
    cols = [c for c in COLUMNS if c[0] in head]
    rows = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break  # the table ends at its first line that is not a row
        cells = split_row(line)
        if len(cells) == len(head) and cells[0] in ROWS:
            rows[cells[0]] = [cells[head.index(c[0])] for c in cols]
    return cols, rows


def ensure_gnuplot():
    if shutil.which("gnuplot"):
        return
    if os.geteuid() != 0:
        sys.exit("plot.py needs gnuplot (run: sudo apt-get install "
                 "gnuplot-nox)")
    subprocess.run(["apt-get", "update", "-qq"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "gnuplot-nox"],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "make bench"
    with open(src) as f:
        cols, rows = last_table(f.read())
    missing = [r for r in ROWS if r not in rows]
    if missing:
        sys.exit("plot.py: the table lacks " + ", ".join(missing))
    ensure_gnuplot()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bench.dat")
        with open(data, "w") as f:
            for r in ROWS:
                name = r.split(",")[0]
                vals = [v if v not in ("-", "", "n/a") else "NaN"
                        for v in rows[r]]
                f.write('"%s" %s\n' % (name, " ".join(vals)))
        script = f"""
set terminal pngcairo size 1000,460 font "sans,10"
set output "{out}"
set title "{title}: time per operation, lower is better (log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y
set ylabel "ns"
set yrange [1:*]
set grid ytics
set key below horizontal
set xtics nomirror
"""
        # One bar a column; the first also names the groups (xtic).
        bars = [f'"{data}" using 2:xtic(1)'] + [
            f'"" using {k + 2}' for k in range(1, len(cols))]
        script += "plot " + ", \\\n     ".join(
            f'{bar} title "{title}" lc rgb "{colour}"'
            for bar, (_, title, colour) in zip(bars, cols)) + "\n"
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"plot.py: {out}")


if __name__ == "__main__":
    main()
