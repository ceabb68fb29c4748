#!/usr/bin/env python3
"""A chart of `make bench`'s table: libaq beside asyncio and Go.

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


def last_table(text):
    """The rows of the last `| workload | libaq | asyncio | go |` table."""
    tables = re.split(r"\n\| workload \| libaq \| asyncio \| go \|", text)
    if len(tables) < 2:
        sys.exit("plot.py: no bench table in the input")
    rows = {}
    for line in tables[-1].splitlines()[1:]:
        if not line.startswith("|"):
            break  # the table ends at its first line that is not a row
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in ROWS:
            rows[cells[0]] = cells[1:4]
    return rows


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
        rows = last_table(f.read())
    missing = [r for r in ROWS if r not in rows]
    if missing:
        sys.exit("plot.py: the table lacks " + ", ".join(missing))
    ensure_gnuplot()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bench.dat")
        with open(data, "w") as f:
            for r in ROWS:
                name = r.split(",")[0]
                vals = [v if v not in ("-", "") else "NaN" for v in rows[r]]
                f.write('"%s" %s\n' % (name, " ".join(vals)))
        script = f"""
set terminal pngcairo size 900,420 font "sans,10"
set output "{out}"
set title "{title}: time per operation, lower is better (log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y
set ylabel "ns"
set yrange [1:*]
set grid ytics
set key top left
set xtics nomirror
plot "{data}" using 2:xtic(1) title "libaq" lc rgb "#2a7ab0", \\
     "" using 3 title "asyncio" lc rgb "#e0a030", \\
     "" using 4 title "Go" lc rgb "#60a060"
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"plot.py: {out}")


if __name__ == "__main__":
    main()
