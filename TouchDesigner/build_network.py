# td-spotify: builds a small show around the plugin, inside the network where you run it.
#
# Run it from a Text DAT (a pasted script in the Textport breaks on blank lines inside blocks):
#   1. In the network where you want the show (e.g. /project1), add a Text DAT.
#   2. Paste this whole file into it, or set the Text DAT's File parameter to this file.
#   3. Right-click the Text DAT > Run Script (or Ctrl+R with the DAT selected).
# It builds spotify_demo: the plugin's CHOP (spotify1) and DAT (now_playing), a progress bar,
# the album art, the title, a flash on every beat and a Tap button (also the T key).
#
# Finding the plugin: if TouchDesigner loaded it from a Plugins folder at start-up, it is a
# Custom OP and the script uses it. Otherwise it uses a CPlusPlus CHOP and DAT whose Plugin Path
# is PLUGIN below, or the plugin file it finds in the Plugins folders, or the file you choose.

import os
import sys

PLUGIN = ''  # e.g. r'C:/Users/me/Downloads/td_spotify.dll'; '' = find it as described above
NAME = 'spotify_demo'
WIDTH, HEIGHT = 1280, 720
FILES = ('td_spotify.dll', 'td_spotify.plugin', 'libtd_spotify.dylib', 'libtd_spotify.so')


def custom_type(family):
    """The Custom OP type TouchDesigner registered for the plugin in `family`, or None."""
    for op_type in families.get(family, ()):
        # The plugin registers opType Tdspotify (CHOP) and Tdspotifydat (DAT).
        if 'tdspotify' in getattr(op_type, '__name__', str(op_type)).lower():
            return op_type
    return None


def plugin_folders():
    """Where TouchDesigner looks for Custom OPs: next to the .toe, then the user's folder."""
    home = os.path.expanduser('~')
    folders = [os.path.join(project.folder, 'Plugins')]
    if sys.platform == 'darwin':
        folders.append(os.path.join(home, 'Library', 'Application Support', 'Derivative',
                                    'TouchDesigner099', 'Plugins'))
    else:
        folders.append(os.path.join(home, 'Documents', 'Derivative', 'Plugins'))
    return folders


def find_plugin_file():
    """PLUGIN, else the plugin file in a Plugins folder (any subfolder), else ask; None if not."""
    if PLUGIN:
        return PLUGIN
    for folder in plugin_folders():
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in sorted(filenames + dirnames):
                if name in FILES:
                    return os.path.join(dirpath, name).replace('\\', '/')
    return ui.chooseFile(load=True, fileTypes=['dll', 'plugin', 'dylib', 'so'],
                         title='Where is the td-spotify plugin file?')


def top_size(top):
    top.par.outputresolution = 'custom'
    top.par.resolutionw = WIDTH
    top.par.resolutionh = HEIGHT


def place(node, x, y):
    node.nodeX = x
    node.nodeY = y
    return node


def add_plugin(demo, chop_type, dat_type, path):
    """The plugin: channels and rows. A Custom OP needs no path; a CPlusPlus OP does."""
    spotify = place(demo.create(chop_type or cplusplusCHOP, 'spotify1'), 0, 0)
    now = place(demo.create(dat_type or cplusplusDAT, 'now_playing'), 0, -300)
    for node, custom in ((spotify, chop_type), (now, dat_type)):
        if custom is None:
            node.par.plugin = path


def add_progress_bar(demo):
    """Progress bar along the bottom (fraction units: 0 is the centre, -0.5 the left edge)."""
    bar = place(demo.create(rectangleTOP, 'progress_bar'), 800, 0)
    top_size(bar)
    bar.par.sizeunit = 'fraction'
    bar.par.centerunit = 'fraction'
    bar.par.sizey = 0.02
    bar.par.centery = -0.45
    bar.par.sizex.expr = "op('spotify1')['progress']"
    bar.par.centerx.expr = "op('spotify1')['progress'] / 2 - 0.5"
    return bar


def add_beat_flash(demo):
    """Beat flash: `beat` is 1 for one cook per beat; the Lag CHOP rises at once, falls in 0.3 s."""
    select = place(demo.create(selectCHOP, 'beat_select'), 200, 200)
    select.par.chop = 'spotify1'
    select.par.channames = 'beat'
    lag = place(demo.create(lagCHOP, 'beat_lag'), 400, 200)
    lag.inputConnectors[0].connect(select)
    lag.par.lag1 = 0
    lag.par.lag2 = 0.3
    flash_chop = place(demo.create(nullCHOP, 'beat_flash'), 600, 200)
    flash_chop.inputConnectors[0].connect(lag)
    flash = place(demo.create(constantTOP, 'flash'), 800, 200)
    top_size(flash)
    flash.par.colorr = 1
    flash.par.colorg = 1
    flash.par.colorb = 1
    flash.par.alpha.expr = "op('beat_flash')['beat'] * 0.35"
    return flash


def add_title(demo):
    """Title and artists: a DAT cell is a Cell object; its text is .val."""
    title = place(demo.create(textTOP, 'title'), 800, -150)
    top_size(title)
    title.par.fontsizex = 48
    title.par.alignx = 'center'
    title.par.aligny = 'top'
    title.par.text.expr = ("op('now_playing')['name', 'value'].val + '\\n' + "
                           "op('now_playing')['artists', 'value'].val")
    return title


def add_album_art(demo):
    """Album art (the largest cover; empty while nothing plays), fitted to the frame."""
    art = place(demo.create(moviefileinTOP, 'album_art'), 600, -300)
    art.par.file.expr = "op('now_playing')['album_art_url', 'value'].val"
    art_fit = place(demo.create(fitTOP, 'album_art_fit'), 800, -300)
    art_fit.inputConnectors[0].connect(art)
    art_fit.par.fit = 'fitbest'
    top_size(art_fit)
    return art_fit


def add_show(demo, layers):
    """Everything over the album art; the container shows it, so it is always pulled."""
    show = place(demo.create(compositeTOP, 'show'), 1000, -75)
    top_size(show)
    show.par.operand = 'over'
    for i, layer in enumerate(layers):
        show.inputConnectors[i].connect(layer)
    out = place(demo.create(outTOP, 'out1'), 1000, -225)
    out.inputConnectors[0].connect(show)
    demo.par.top = 'out1'


def add_tap(demo):
    """Tap: a button in the panel, and the T key. Both pulse the plugin's Tap parameter."""
    button = place(demo.create(buttonCOMP, 'tap'), 0, -500)
    button.par.buttontype = 'momentary'
    button.par.x = 20
    button.par.y = 20
    button.par.w = 160
    button.par.h = 60
    on_button = place(demo.create(panelexecuteDAT, 'tap_button_callbacks'), 200, -500)
    on_button.par.panels = 'tap'
    on_button.par.panelvalue = 'state'
    on_button.par.offtoon = True
    on_button.text = ('def onOffToOn(panelValue):\n'
                      "    op('spotify1').par.Tap.pulse()\n"
                      '    return\n')
    key = place(demo.create(keyboardinCHOP, 'tap_key'), 0, -650)
    key.par.keys = 't'
    on_key = place(demo.create(chopexecuteDAT, 'tap_key_callbacks'), 200, -650)
    on_key.par.chop = 'tap_key'
    on_key.par.offtoon = True
    on_key.text = ('def onOffToOn(channel, sampleIndex, val, prev):\n'
                   "    op('spotify1').par.Tap.pulse()\n"
                   '    return\n')


def build():
    chop_type = custom_type('CHOP')
    dat_type = custom_type('DAT')
    path = None
    if chop_type is None or dat_type is None:
        path = find_plugin_file()
        if not path:
            print('td-spotify: no plugin file chosen, nothing built. Set PLUGIN at the top of '
                  'this script, or put the plugin in a Plugins folder and restart TouchDesigner.')
            return None

    root = me.parent()
    old = root.op(NAME)
    if old is not None:
        old.destroy()
    demo = root.create(containerCOMP, NAME)
    demo.par.w = WIDTH
    demo.par.h = HEIGHT

    add_plugin(demo, chop_type, dat_type, path)
    bar = add_progress_bar(demo)
    flash = add_beat_flash(demo)
    title = add_title(demo)
    art_fit = add_album_art(demo)
    add_show(demo, (title, flash, bar, art_fit))
    add_tap(demo)

    demo.viewer = True
    how = 'Custom OP' if path is None else 'Plugin Path ' + path
    print('td-spotify: built', demo.path, '(' + how + '). Its viewer shows the show; set '
          'spotify1 Source to Spotify to follow your account.')
    return demo

build()
