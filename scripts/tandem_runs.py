"""What the measurement scripts share: running tandem, a `tandem serve` for the length of a run,
the held-out evaluations of a metrics file, and a small SVG line chart."""
import contextlib
import json
import math
import signal
import socket
import subprocess
import time


def run(cmd, log):
    """Runs cmd with its output in the file log; returns the wall seconds. Raises on failure."""
    with open(log, "w") as f:
        start = time.monotonic()
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)
        return time.monotonic() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(tandem, model, log, extra=(), admin_key=None):
    """`tandem serve MODEL` on a free port, listening when the block starts and stopped (SIGTERM)
    when it ends; yields "127.0.0.1:PORT"."""
    port = free_port()
    cmd = [tandem, "serve", model, "--port", str(port), *extra]
    if admin_key:
        cmd += ["--admin-key", admin_key]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"tandem serve exited with {proc.returncode}: see {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"tandem serve did not listen within 30 s: see {log}")
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def evals(metrics, phase="grpo"):
    """level -> [(step, accuracy, problems)] of the phase's held-out evaluations, in order."""
    out = {}
    with open(metrics) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "eval" and r.get("phase") == phase:
                out.setdefault(r["level"], []).append((r["step"], r["accuracy"], r["problems"]))
    return out


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def svg_lines(title, series, y_label, faint=()):
    """A small line chart, y in [0, 1] shown as percent. series is [(label, [(x, y)])], one
    labelled line each; faint is [(series index, [(x, y)])], thin unlabelled lines in that series'
    colour (e.g. the single seeds behind a mean)."""
    w, h, left, right, top, bottom = 640, 360, 60, 150, 40, 40
    every = [pts for _, pts in series] + [pts for _, pts in faint]
    xs = [x for pts in every for x, _ in pts] or [0, 1]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    ys = [y for pts in every for _, y in pts] or [0, 1]
    y0 = max(0.0, math.floor(min(ys) * 20 - 0.5) / 20)  # on 5% lines, with some margin
    y1 = min(1.0, math.ceil(max(ys) * 20 + 0.5) / 20)
    px = lambda x: left + (x - x0) / (x1 - x0) * (w - left - right)
    py = lambda y: h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">step</text>',
           f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">{y_label}</text>']
    for i in range(round((y1 - y0) * 20) + 1):
        y = y0 + i / 20
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{100 * y:.0f}%</text>')
    for x in sorted(set(xs)):  # the evaluation steps
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x:.0f}</text>')
    for k, pts in faint:
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{COLORS[k % len(COLORS)]}" stroke-width="1" '
                   f'stroke-opacity="0.35" points="{path}"/>')
    for k, (label, pts) in enumerate(series):
        c = COLORS[k % len(COLORS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{path}"/>')
        out.append(f'<text x="{w - right + 8}" y="{top + 18 * k + 10}" fill="{c}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def svg_xy(title, series, x_label, y_label, log_x=False, log_y=False):
    """A line chart of any numbers: series is [(label, [(x, y)])]; log_x / log_y for axes that
    span decades (bytes, loss)."""
    w, h, left, right, top, bottom = 640, 360, 70, 170, 40, 44
    fx = (lambda v: math.log10(max(v, 1e-30))) if log_x else (lambda v: v)
    fy = (lambda v: math.log10(max(v, 1e-30))) if log_y else (lambda v: v)
    pts = [(fx(x), fy(y)) for _, s in series for x, y in s if (x > 0 or not log_x) and (y > 0 or not log_y)]
    xs, ys = [p[0] for p in pts] or [0, 1], [p[1] for p in pts] or [0, 1]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1e-9)
    y0, y1 = min(ys), max(max(ys), min(ys) + 1e-9)
    px = lambda x: left + (fx(x) - x0) / (x1 - x0) * (w - left - right)
    py = lambda y: h - bottom - (fy(y) - y0) / (y1 - y0) * (h - top - bottom)
    label = lambda v, log: f"{10 ** v:.3g}" if log else f"{v:.3g}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<text x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle">{x_label}</text>',
           f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">{y_label}</text>']
    for i in range(5):  # grid: five values along each axis
        gy, gx = y0 + (y1 - y0) * i / 4, x0 + (x1 - x0) * i / 4
        yy = h - bottom - (gy - y0) / (y1 - y0) * (h - top - bottom)
        xx = left + (gx - x0) / (x1 - x0) * (w - left - right)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{w - right}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{label(gy, log_y)}</text>')
        out.append(f'<text x="{xx:.1f}" y="{h - bottom + 16}" text-anchor="middle">{label(gx, log_x)}</text>')
    for k, (name, s) in enumerate(series):
        c = COLORS[k % len(COLORS)] if k < len(COLORS) else ["#8c564b", "#e377c2", "#7f7f7f", "#17becf"][k % 4]
        keep = [(x, y) for x, y in s if (x > 0 or not log_x) and (y > 0 or not log_y)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in keep)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{path}"/>')
        out.append(f'<text x="{w - right + 8}" y="{top + 18 * k + 10}" fill="{c}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
