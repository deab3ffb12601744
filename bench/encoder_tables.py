"""Tables of bench/encoder_vs_python.py's results, shared with bench/report.py."""

# The measures the neighbour rounds take (bench/encoder_vs_python.py).
NEIGHBOUR_KEYS = ["image_model/batch:8", "image_files/batch:8", "text/query"]


def neighbour_table(n):
    """The neighbour rounds' markdown table (bench/report.py prints the same)."""
    sides = [("imgvec", "imgvec (its own thread choice)")] + [
        (side, f"Python, {threads} thread{'s' if threads != 1 else ''}") for side, threads in n["python_threads"].items()]
    rows = ["| measure | " + " | ".join(f"{label}: idle, busy, slowdown" for _, label in sides) + " |",
            "|---|" + "---|" * len(sides)]
    for key in NEIGHBOUR_KEYS:
        cells = []
        for side, _ in sides:
            idle, busy = n[f"{side}_idle"][key], n[f"{side}_busy"][key]
            cells.append(f"{idle:.1f} ms, {busy:.1f} ms, **{busy / idle:.2f}x**")
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def neighbour_goal(n):
    """Issue 23's goal, per measure: imgvec's slowdown beside the busy process against the Python
    pipeline's at the same thread count (the "python" side)."""
    out = {}
    for key in NEIGHBOUR_KEYS:
        ours = n["imgvec_busy"][key] / n["imgvec_idle"][key]
        theirs = n["python_busy"][key] / n["python_idle"][key]
        out[key] = (ours, theirs, ours <= theirs)
    return out
