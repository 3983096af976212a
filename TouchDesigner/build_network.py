# td-spotify: builds a small working network around the plugin.
#
# Open the Textport (Alt+T), set PLUGIN below to where you put the plugin file, then paste this
# whole script. It creates /project1/spotify_demo with a CPlusPlus CHOP and DAT, a progress bar,
# a beat-pulsing square, the track title and the album art, composited into one output.

PLUGIN = ''  # e.g. r'C:/Users/me/Documents/Derivative/Plugins/td_spotify.dll'; '' = already in Plugins

root = op('/project1')
old = root.op('spotify_demo')
if old is not None:
    old.destroy()
demo = root.create(containerCOMP, 'spotify_demo')
demo.par.w = 1280
demo.par.h = 720

chop = demo.create(cplusplusCHOP, 'spotify')
dat = demo.create(cplusplusDAT, 'now_playing')
for node in (chop, dat):
    if PLUGIN:
        node.par.plugin = PLUGIN
dat.nodeY = chop.nodeY - 150

# Progress bar along the bottom.
bar = demo.create(rectangleTOP, 'progress_bar')
bar.par.resolutionw = 1280
bar.par.resolutionh = 720
bar.par.sizeunit = 'fraction'
bar.par.centerunit = 'fraction'
bar.par.sizey = 0.02
bar.par.sizex.expr = "op('spotify')['progress']"
bar.par.centerx.expr = "op('spotify')['progress'] / 2 - 0.5"
bar.par.centery = -0.45
bar.nodeX = chop.nodeX + 200

# A square that swells on every beat.
beat = demo.create(rectangleTOP, 'beat_square')
beat.par.resolutionw = 1280
beat.par.resolutionh = 720
beat.par.sizeunit = 'fraction'
beat.par.sizex.expr = "0.2 * (1 + 0.3 * (1 - op('spotify')['beat_phase'])) * op('spotify')['playing']"
beat.par.sizey.expr = "0.2 * (1 + 0.3 * (1 - op('spotify')['beat_phase'])) * op('spotify')['playing'] * 16 / 9"
beat.nodeX = bar.nodeX
beat.nodeY = bar.nodeY - 150

# Title and artists.
title = demo.create(textTOP, 'title')
title.par.resolutionw = 1280
title.par.resolutionh = 720
title.par.text.expr = "op('now_playing')['name', 'value'] + '\\n' + op('now_playing')['artists', 'value']"
title.par.alignx = 'center'
title.par.aligny = 'top'
title.nodeX = bar.nodeX
title.nodeY = beat.nodeY - 150

# Album art (the largest image; empty while nothing plays).
art = demo.create(moviefileinTOP, 'album_art')
art.par.file.expr = "op('now_playing')['album_art_url', 'value']"
art.nodeX = bar.nodeX
art.nodeY = title.nodeY - 150

art_fit = demo.create(fitTOP, 'album_art_fit')
art_fit.par.outputresolution = 'custom'
art_fit.par.resolutionw = 1280
art_fit.par.resolutionh = 720
art_fit.inputConnectors[0].connect(art)
art_fit.nodeX = art.nodeX + 200
art_fit.nodeY = art.nodeY

comp = demo.create(compositeTOP, 'out_comp')
comp.par.operand = 'over'
for i, top in enumerate((title, beat, bar, art_fit)):
    comp.inputConnectors[i].connect(top)
comp.nodeX = bar.nodeX + 450
out = demo.create(outTOP, 'out1')
out.inputConnectors[0].connect(comp)
out.nodeX = comp.nodeX + 200

print('td-spotify: built', demo.path, '- open it and view out1; set Source to Spotify to follow your account.')
