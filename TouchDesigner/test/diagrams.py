"""Draws TouchDesigner/example_network.svg and channels.svg.

The network diagram is drawn from what build_network.py builds under the fake TouchDesigner API:
its operators (at the script's nodeX/nodeY), wires, expression references and callbacks, so it
cannot drift from the script. test_network.py fails when a committed SVG differs from this output.

    python3 TouchDesigner/test/diagrams.py          # rewrites both SVGs
"""

import os
import re
import sys
import tempfile
from xml.sax.saxutils import escape

from fake_td import Network, references

HERE = os.path.dirname(os.path.abspath(__file__))
TD = os.path.join(HERE, '..')
COLOURS = {'CHOP': '#3f7f3f', 'TOP': '#6b4f9e', 'DAT': '#a0456e', 'COMP': '#5a5a5a'}
BOX_W, BOX_H = 160, 50
X_SCALE, Y_SCALE = 1.2, 0.6
PLUGIN_LABELS = {'CHOP': 'plugin CHOP', 'DAT': 'plugin DAT'}

# Where each channel and row goes, in the example network and the README recipes.
CHANNEL_USES = [
    ('channel', 'progress', 'Rectangle TOP: Size X, Center X', 'progress bar'),
    ('channel', 'beat', 'Select CHOP → Lag CHOP → Constant TOP: Alpha', 'beat flash'),
    ('channel', 'beat_phase', 'Transform TOP: Scale (sx, sy)', 'pulse on the beat'),
    ('channel', 'bar_phase', 'Transform TOP: Scale', 'one swell per bar'),
    ('channel', 'valence', 'HSV Adjust TOP: Hue Offset, × 360 (0–360°)', 'colour by mood'),
    ('channel', 'energy', 'HSV Adjust TOP: Saturation Multiplier, 0.5 + energy', 'colour by mood'),
    ('channel', 'track_changed', 'Select CHOP → Lag CHOP (as for beat)', 'flash on a new track'),
    ('channel', 'playing', 'multiply any expression by it', 'only while music plays'),
    ('channel', 'tempo_source', '3 after a Tap (button, T key, .pulse())', 'tap tempo'),
    ('row', 'name, artists', 'Text TOP: Text (.val of the cells)', 'title'),
    ('row', 'album_art_url', 'Movie File In TOP: File → Fit TOP', 'album art'),
]


def header(width, height, title):
    return [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="Helvetica, Arial, sans-serif" font-size="13">' % (width, height, width, height),
        '<title>%s</title>' % escape(title),
        '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#fafafa"/>',
    ]


def built_network():
    with tempfile.TemporaryDirectory() as home:
        saved = os.environ.get('HOME')
        os.environ['HOME'] = home
        try:
            net = Network(custom_op=True)
            me = net.text_dat()
            with open(os.path.join(TD, 'build_network.py'), encoding='utf-8') as f:
                net.run(f.read(), me)
        finally:
            if saved is None:
                del os.environ['HOME']
            else:
                os.environ['HOME'] = saved
    return net, net.root.op('spotify_demo')


def edges(demo):
    """(source, target, dashed, label) for wires, references by path, expressions and callbacks."""
    found = []
    for node in demo.children.values():
        for i in sorted(node.inputs):
            found.append((node.inputs[i].name, node.name, False, None))
        pars = node.par._pars
        for par in pars.values():
            if par.kind == 'op' and isinstance(par.val, str) and par.val in demo.children:
                if node.type_name == 'containerCOMP':
                    continue
                label = {'selectCHOP': pars.get('channames'), 'panelexecuteDAT': pars.get('panelvalue')}
                extra = label.get(node.type_name)
                found.append((par.val, node.name, True, extra.val if extra else None))
            if par.expr_text:
                names = re.findall(r"\['(\w+)'", par.expr_text)
                for ref in references(par.expr_text):
                    found.append((ref, node.name, True, '%s → %s' % (', '.join(names), par.name)))
        if node.family == 'DAT' and node.text:
            for ref in sorted(set(references(node.text))):
                pulses = re.findall(r'par\.(\w+)\.pulse\(\)', node.text)
                found.append((node.name, ref, True, ', '.join(p + '.pulse()' for p in pulses)))
    return found


def join_labels(labels):
    """'progress → sizex' and 'progress → centerx' become 'progress → sizex, centerx'."""
    if not labels:
        return None
    heads = {label.split(' → ')[0] for label in labels}
    if len(heads) == 1 and all(' → ' in label for label in labels):
        return '%s → %s' % (heads.pop(), ', '.join(label.split(' → ')[1] for label in labels))
    return '; '.join(labels)


def network_svg():
    net, demo = built_network()
    xs = [n.nodeX for n in demo.children.values()]
    ys = [n.nodeY for n in demo.children.values()]
    left, top = min(xs), max(ys)

    def box(node):
        return 20 + (node.nodeX - left) * X_SCALE, 60 + (top - node.nodeY) * Y_SCALE

    width = int(40 + (max(xs) - left) * X_SCALE + BOX_W)
    height = int(110 + (top - min(ys)) * Y_SCALE + BOX_H)
    out = header(width, height, 'td-spotify example network (spotify_demo)')
    out.append('<rect x="5" y="5" width="%d" height="%d" rx="8" fill="none" stroke="#999" '
               'stroke-dasharray="6 4"/>' % (width - 10, height - 10))
    out.append('<text x="15" y="26" font-weight="bold">spotify_demo (Container COMP): its viewer shows '
               '%s, so every frame pulls the whole show and the plugin</text>' % escape(demo.par.top.val))
    merged = {}  # one arrow per pair; the labels of its expressions joined
    for source, target, dashed, label in edges(demo):
        labels = merged.setdefault((source, target, dashed), [])
        if label and label not in labels:
            labels.append(label)
    labelled = set()
    for (source, target, dashed), labels in merged.items():
        label = join_labels(labels)
        a, b = demo.children[source], demo.children[target]
        (ax, ay), (bx, by) = box(a), box(b)
        if bx > ax:  # left to right: side to side
            x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx, by + BOX_H / 2
            path = 'M%g,%g C%g,%g %g,%g %g,%g' % (x1, y1, (x1 + x2) / 2, y1, (x1 + x2) / 2, y2, x2, y2)
        elif bx == ax:  # same column: top or bottom to the other
            x1, x2 = ax + BOX_W / 2, bx + BOX_W / 2
            y1, y2 = (ay + BOX_H, by) if by > ay else (ay, by + BOX_H)
            path = 'M%g,%g L%g,%g' % (x1, y1, x2, y2)
        else:  # back to the left (callbacks): out to the right, up, left, into the target's bottom
            x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx + BOX_W - 20, by + BOX_H
            lane, turn = x1 + 20, y2 + 25
            path = 'M%g,%g L%g,%g L%g,%g L%g,%g L%g,%g' % (x1, y1, lane, y1, lane, turn, x2, turn, x2, y2)
            x1, y1, y2 = lane, turn + 20, turn + 20  # the label goes under the turn
        out.append('<path d="%s" fill="none" stroke="#333" stroke-width="1.4"%s marker-end="url(#a)"/>'
                   % (path, ' stroke-dasharray="5 4"' if dashed else ''))
        if label and (label, target) not in labelled:
            labelled.add((label, target))
            out.append('<text x="%g" y="%g" font-size="11" fill="#333" text-anchor="middle">%s</text>'
                       % ((x1 + x2) / 2, (y1 + y2) / 2 - 6, escape(label)))
    for node in demo.children.values():
        x, y = box(node)
        kind = PLUGIN_LABELS[node.family] if node.name in ('spotify1', 'now_playing') else node.spec['label']
        out.append('<rect x="%g" y="%g" width="%d" height="%d" rx="6" fill="%s"/>'
                   % (x, y, BOX_W, BOX_H, COLOURS[node.family]))
        out.append('<text x="%g" y="%g" fill="#fff" font-weight="bold" text-anchor="middle">%s</text>'
                   % (x + BOX_W / 2, y + 21, escape(node.name)))
        out.append('<text x="%g" y="%g" fill="#eee" font-size="11" text-anchor="middle">%s</text>'
                   % (x + BOX_W / 2, y + 38, escape(kind)))
    out.append('<text x="%d" y="%d" font-size="11" fill="#333" text-anchor="end">solid: wire · dashed: '
               'expression, path or callback · colours: CHOP, TOP, DAT, COMP</text>' % (width - 20, height - 18))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def channels_svg():
    out = header(980, 70 + 40 * len(CHANNEL_USES), 'Where each td-spotify channel and row goes')
    out.append('<text x="20" y="28" font-weight="bold">From spotify1 (CHOP) and now_playing (DAT) to '
               'the operators and parameters that use them</text>')
    for i, (kind, name, target, what) in enumerate(CHANNEL_USES):
        y = 50 + 40 * i
        colour = COLOURS['CHOP' if kind == 'channel' else 'DAT']
        out.append('<rect x="20" y="%d" width="170" height="30" rx="5" fill="%s"/>' % (y, colour))
        out.append('<text class="%s" x="105" y="%d" fill="#fff" font-weight="bold" text-anchor="middle">%s</text>'
                   % (kind, y + 20, escape(name)))
        out.append('<path d="M190,%d L250,%d" stroke="#333" stroke-width="1.4" marker-end="url(#a)"/>'
                   % (y + 15, y + 15))
        out.append('<rect x="250" y="%d" width="470" height="30" rx="5" fill="#fff" stroke="%s"/>'
                   % (y, COLOURS['TOP']))
        out.append('<text x="262" y="%d">%s</text>' % (y + 20, escape(target)))
        out.append('<text x="735" y="%d" fill="#555" font-style="italic">%s</text>' % (y + 20, escape(what)))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


DIAGRAMS = {'example_network.svg': network_svg, 'channels.svg': channels_svg}

if __name__ == '__main__':
    for name, draw in DIAGRAMS.items():
        with open(os.path.join(TD, name), 'w', encoding='utf-8') as f:
            f.write(draw())
        print('wrote', os.path.normpath(os.path.join(TD, name)), file=sys.stderr)
