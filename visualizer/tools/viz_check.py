#!/usr/bin/python3
"""Checks gantry-viz output without a golden image (stdlib only: zlib + struct).

  viz_check.py png OUT.png W H            the PNG decodes, has that size, is not blank
  viz_check.py marks OUT.png LAYOUT.json [--require-phases N]
                                          known events are drawn where the layout
                                          (--layout-json) says, in their colours
  viz_check.py arrows OUT.png LAYOUT.json MIN_DROPS
                                          link-frame arrows are drawn where the
                                          layout says, in their fate's colour
  viz_check.py filter ALL.png ALL.json OUT.png OUT.json (--protocols P,P | --connection C)
                                          OUT was rendered with that network filter:
                                          its arrows are those of ALL that match, drawn;
                                          ALL's other arrows are absent from OUT's pixels
  viz_check.py pagemap OUT.png LAYOUT.json
                                          the memory view's page map runs and heap
                                          class bars are drawn where the layout says
  viz_check.py xwd SHOT.xwd               an X screenshot (xwd) is not blank
  viz_check.py xwd-differ A.xwd B.xwd     two screenshots are not the same picture

Pixels are checked in regions the layout computed, so a font or spacing change
does not break the test; a span drawn in the wrong place or colour does.
"""
import json
import struct
import sys
import zlib


def fail(message):
    print("viz_check: " + message)
    sys.exit(1)


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + ": not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type = header[:4]
    if depth != 8 or color_type not in (2, 6):
        fail(path + ": expected 8-bit RGB or RGBA, got depth %d type %d" % (depth, color_type))
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def pixel(image, x, y):
    _, _, channels, rows = image
    return tuple(rows[y][x * channels:x * channels + 3])


def check_png(path, width, height):
    image = read_png(path)
    if (image[0], image[1]) != (width, height):
        fail("%s is %dx%d, expected %dx%d" % (path, image[0], image[1], width, height))
    colours = set()
    for y in range(0, height, 3):
        for x in range(0, width, 3):
            colours.add(pixel(image, x, y))
    if len(colours) < 8:
        fail("%s looks blank: %d colours" % (path, len(colours)))
    print("ok: %s %dx%d, %d colours sampled" % (path, width, height, len(colours)))


def share(image, rect, colour):
    x, y, w, h = rect
    hits = sum(1 for j in range(y, y + h) for i in range(x, x + w)
               if pixel(image, i, j) == tuple(colour))
    return hits / float(max(w * h, 1)), hits


def check_phases(image, layout):
    checked = 0
    for phase in layout["timeline"]["phases"]:
        x, y, w, h = phase["rect"]
        if w < 4 or h < 4:
            continue  # too thin for its label to leave colour around it
        fraction, _ = share(image, phase["rect"], phase["color"])
        if fraction < 0.5:
            fail("phase %r at %s: only %.0f%% of its pixels have colour %s"
                 % (phase["name"], phase["rect"], fraction * 100, phase["color"]))
        checked += 1
    return checked


def check_marks(png_path, layout_path, require_phases=0):
    image = read_png(png_path)
    layout = json.load(open(layout_path))
    found = []
    if "timeline" in layout:
        phases = check_phases(image, layout)
        if phases == 0 and layout["timeline"]["phases"]:
            # Hello's boot phases last microseconds of a 30 ms run: in a whole-run
            # picture they are thin, so at least one pixel column must show them.
            phase_list = layout["timeline"]["phases"]
            if not any(share(image, p["rect"], p["color"])[1] for p in phase_list):
                fail("no boot phase pixels where the layout put them")
        if phases < require_phases:
            fail("%d boot phases wide enough to check, expected %d" % (phases, require_phases))
        found.append("%d phases" % phases)
        fibers = [l for l in layout["timeline"]["lanes"]
                  if l["kind"] == "fiber" and l["visible_runs"] > 0]
        drawn = [l for l in fibers if share(image, l["rect"], l["color"])[1] > 0]
        if len(drawn) < len(fibers):
            fail("fiber lanes with runs in the window but none drawn: %s"
                 % [l["rect"] for l in fibers if l not in drawn])
        found.append("%d/%d fiber lanes with runs" % (len(drawn), len(fibers)))
    if "memory" in layout:
        for plot in layout["memory"]["plots"]:
            if plot["samples"] and not share(image, plot["pages"], plot["pages_color"])[1]:
                fail("node %d: no pages line in %s" % (plot["node"], plot["pages"]))
        found.append("%d memory plots" % len(layout["memory"]["plots"]))
    if "network" in layout:
        x, y, w, h = layout["network"]["plot"]
        row = set(pixel(image, i, y + h // 2 + dy) for i in range(x, x + w) for dy in (-2, 0, 2))
        if len(row) < 2:
            fail("the network panel has no message")
        found.append("network panel")
    print("ok: " + ", ".join(found))


def near(image, x, y, colour):
    # SDL's line rasteriser may step a pixel off the exact midpoint.
    return any(pixel(image, i, j) == tuple(colour)
               for j in range(y - 1, y + 2) for i in range(x - 1, x + 2)
               if 0 <= i < image[0] and 0 <= j < image[1])


def check_arrows(png_path, layout_path, min_drops):
    image = read_png(png_path)
    network = json.load(open(layout_path))["network"]
    fates, arrows = network["fates"], network["arrows"]
    drops = [a for a in arrows if a[4] == "dropped"]
    if len(drops) < min_drops or fates["delivered"]["arrows"] == 0:
        fail("%d dropped and %d delivered arrows, expected >= %d and > 0"
             % (len(drops), fates["delivered"]["arrows"], min_drops))
    # Drops are drawn last: every cross centre must be red.
    for x0, y0, x1, y1, fate in (a[:5] for a in drops):
        if pixel(image, x1, y1) != tuple(fates["dropped"]["color"]):
            fail("drop cross at (%d,%d) is %s" % (x1, y1, pixel(image, x1, y1)))
    # Other arrows may be crossed by later ones: most midpoints keep their colour.
    for fate, entry in fates.items():
        mine = [a for a in arrows if a[4] == fate and fate != "dropped"]
        good = sum(1 for a in mine
                   if near(image, (a[0] + a[2]) // 2, (a[1] + a[3]) // 2, entry["color"]))
        if mine and good < 0.8 * len(mine):
            fail("%s arrows: only %d of %d midpoints in %s" % (fate, good, len(mine),
                                                               entry["color"]))
    print("ok: %d arrows (%d dropped) drawn where the layout says" % (len(arrows), len(drops)))


def matches(arrow, protocols, connection):
    # arrow: [x0, y0, x1, y1, fate, protocol, connection]; a connection given
    # without tcp:/udp: stands for either.
    if protocols is not None:
        return arrow[5] in protocols
    return arrow[6] == connection or arrow[6] in ("tcp:" + connection, "udp:" + connection)


def distance_to_segment(px, py, arrow):
    x0, y0, x1, y1 = arrow[:4]
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = 0 if length2 == 0 else max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / length2))
    ex, ey = x0 + t * dx - px, y0 + t * dy - py
    return (ex * ex + ey * ey) ** 0.5


def mark_point(arrow):
    # Where an arrow is surely drawn: a drop's cross centre, else its midpoint.
    if arrow[4] == "dropped":
        return arrow[2], arrow[3]
    return (arrow[0] + arrow[2]) // 2, (arrow[1] + arrow[3]) // 2


def check_filter(all_png, all_json, png_path, layout_path, protocols, connection):
    before, after = read_png(all_png), read_png(png_path)
    unfiltered = json.load(open(all_json))["network"]
    network = json.load(open(layout_path))["network"]
    colours = {fate: tuple(entry["color"]) for fate, entry in network["fates"].items()}
    if not network["filter"]:
        fail("%s: the layout has no network filter" % layout_path)
    kept = network["arrows"]
    wrong = [a for a in kept if not matches(a, protocols, connection)]
    if wrong:
        fail("%d drawn arrows do not match the filter, e.g. %s" % (len(wrong), wrong[0]))
    expected = [a for a in unfiltered["arrows"] if matches(a, protocols, connection)]
    excluded = [a for a in unfiltered["arrows"] if not matches(a, protocols, connection)]
    if not kept or not expected or not excluded:
        fail("nothing to compare: %d kept, %d expected, %d left out"
             % (len(kept), len(expected), len(excluded)))
    kept_paths = set(tuple(a[:5]) for a in kept)
    missing = [a for a in expected if tuple(a[:5]) not in kept_paths]
    if missing:
        fail("%d arrows of the filter's frames are not drawn, e.g. %s" % (len(missing), missing[0]))
    drawn = sum(1 for a in kept if near(after, *mark_point(a), colours[a[4]]))
    if drawn < 0.8 * len(kept):
        fail("only %d of %d kept arrows are drawn in their fate's colour" % (drawn, len(kept)))
    # A left-out arrow's mark, drawn in the unfiltered picture and away from every
    # kept arrow, must be gone from the filtered one.
    checked = 0
    for arrow in excluded:
        x, y = mark_point(arrow)
        colour = colours[arrow[4]]
        if not near(before, x, y, colour) or any(distance_to_segment(x, y, k) < 4 for k in kept):
            continue
        if near(after, x, y, colour):
            fail("left-out %s arrow %s still drawn at (%d,%d)" % (arrow[5], arrow[:5], x, y))
        checked += 1
    if checked == 0:
        fail("no left-out arrow could be checked (all overlap kept ones)")
    print("ok: filter %r: %d arrows kept and drawn, %d left out (%d checked absent)"
          % (network["filter"], len(kept), len(excluded), checked))


def check_page_map(png_path, layout_path):
    # Every used run of the page map in its block's colour, some free cells, and
    # the heap class bars with live bytes filled in the heap colour.
    image = read_png(png_path)
    plots = [p for p in json.load(open(layout_path))["memory"]["plots"] if "page_map" in p]
    if not plots:
        fail("no memory plot with a page map in the layout")
    for plot in plots:
        page_map, heap = plot["page_map"], plot["heap_classes"]
        if not page_map["runs"]:
            fail("node %d: the page map at %d has no used blocks" % (plot["node"], plot["at"]))
        for rect, colour in page_map["runs"]:
            x, y, w, h = rect
            if pixel(image, x + w // 2, y + h // 2) != tuple(colour):
                fail("page run %s is %s, expected %s"
                     % (rect, pixel(image, x + w // 2, y + h // 2), colour))
        if not share(image, page_map["rect"], page_map["free_color"])[1]:
            fail("node %d: no free page drawn in %s" % (plot["node"], page_map["rect"]))
        live = [b for b in heap["bars"] if b["bytes"] > 0]
        if not live:
            fail("node %d: no heap class with live bytes at %d" % (plot["node"], plot["at"]))
        for bar in live:
            x, y, w, h = bar["value"]
            if h < 1 or pixel(image, x + w // 2, y + h // 2) != tuple(heap["color"]):
                fail("heap bar %s (%d bytes) not drawn" % (bar["value"], bar["bytes"]))
        print("ok: node %d page map at %d: %d runs (%d pages in %d blocks), %d live heap bars"
              % (plot["node"], plot["at"], len(page_map["runs"]), page_map["used_pages"],
                 page_map["blocks"], len(live)))


def check_xwd_differ(first, second):
    a, b = open(first, "rb").read(), open(second, "rb").read()
    if a == b:
        fail("%s and %s are the same picture: the followed records were not drawn"
             % (first, second))
    print("ok: %s and %s differ" % (first, second))


def check_xwd(path):
    data = open(path, "rb").read()
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    bits, bytes_per_line, ncolors = fields[11], fields[12], fields[19]
    if bits not in (24, 32):
        fail("%s: %d bits per pixel, expected 24 or 32" % (path, bits))
    size = bits // 8
    start = header_size + ncolors * 12
    colours = set()
    for y in range(0, height, 4):
        row = data[start + y * bytes_per_line:start + y * bytes_per_line + width * size]
        for x in range(0, width * size, 4 * size):
            colours.add(row[x:x + 3])
    if len(colours) < 8:
        fail("%s looks blank: %d colours" % (path, len(colours)))
    print("ok: screenshot %dx%d, %d colours sampled" % (width, height, len(colours)))


def main(argv):
    if len(argv) == 5 and argv[1] == "png":
        check_png(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 4 and argv[1] == "marks":
        check_marks(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "marks" and argv[4] == "--require-phases":
        check_marks(argv[2], argv[3], int(argv[5]))
    elif len(argv) == 5 and argv[1] == "arrows":
        check_arrows(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 8 and argv[1] == "filter" and argv[6] in ("--protocols", "--connection"):
        protocols = argv[7].split(",") if argv[6] == "--protocols" else None
        connection = argv[7] if argv[6] == "--connection" else None
        check_filter(argv[2], argv[3], argv[4], argv[5], protocols, connection)
    elif len(argv) == 4 and argv[1] == "pagemap":
        check_page_map(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "xwd-differ":
        check_xwd_differ(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "xwd":
        check_xwd(argv[2])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
