"""The example network, the README recipes and the diagrams, run against the fake TouchDesigner API.

Run: python3 -m unittest discover -s TouchDesigner/test (TouchDesigner/test/run also lints).
"""

import os
import re
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from fake_td import FakeError, Network, plugin_schema

HERE = os.path.dirname(os.path.abspath(__file__))
TD = os.path.join(HERE, '..')
SCRIPT = os.path.join(TD, 'build_network.py')
GUIDE = os.path.join(TD, 'README.md')


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


class Home:
    """A temporary home folder (and project folder) holding the plugin where a test puts it."""

    def __init__(self, plugin_at=None, platform=None):
        self.plugin_at, self.platform = plugin_at, platform

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.home = self.tmp.name
        self.saved = (os.environ.get('HOME'), sys.platform)
        os.environ['HOME'] = self.home
        if self.platform:
            sys.platform = self.platform
        if self.plugin_at:
            path = os.path.join(self.home, *self.plugin_at.split('/'))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if path.endswith('.plugin'):
                os.makedirs(path)  # a macOS plugin is a bundle: a folder
            else:
                open(path, 'w').close()
            self.plugin = path
        return self

    def __exit__(self, *exc):
        home, sys.platform = self.saved
        if home is None:
            del os.environ['HOME']
        else:
            os.environ['HOME'] = home
        self.tmp.cleanup()


def build(network, source=None):
    me = network.text_dat()
    network.run(source if source is not None else read(SCRIPT), me, SCRIPT)
    return network.root.op('spotify_demo')


class ExampleNetwork(unittest.TestCase):
    def check_show(self, net, demo):
        self.assertIsNotNone(demo, 'spotify_demo was not built')
        kids = demo.children
        for name in ('spotify1', 'now_playing', 'progress_bar', 'beat_select', 'beat_lag',
                     'beat_flash', 'flash', 'title', 'album_art', 'album_art_fit', 'show', 'out1',
                     'tap', 'tap_button_callbacks', 'tap_key', 'tap_key_callbacks'):
            self.assertIn(name, kids)
        values = net.evaluate()
        self.assertIsInstance(values['/project1/spotify_demo/title.text'], str)
        self.assertIsInstance(values['/project1/spotify_demo/album_art.file'], str)
        self.assertIsInstance(values['/project1/spotify_demo/flash.alpha'], float)
        # A TOP's resolution is ignored unless its Output Resolution is Custom.
        for node in demo.children.values():
            if node.family == 'TOP' and node.par._pars.get('resolutionw', None) is not None:
                if node.par.resolutionw.val is not None:
                    self.assertEqual(node.par.outputresolution.val, 'custom', node.path)
        # The show is wired and shown, so something pulls the plugin every frame.
        self.assertEqual([kids['show'].inputs[i].name for i in range(4)],
                         ['title', 'flash', 'progress_bar', 'album_art_fit'])
        self.assertIs(kids['out1'].inputs[0], kids['show'])
        self.assertEqual(demo.op(demo.par.top.val).type_name, 'outTOP')
        self.assertTrue(demo.viewer)
        self.assertIs(kids['beat_lag'].inputs[0], kids['beat_select'])
        self.assertEqual(net.channels_of(kids['beat_flash']), ['beat'])
        # The Tap button and the T key pulse the plugin's Tap, from their Execute DATs.
        self.assertEqual(kids['tap_button_callbacks'].op(kids['tap_button_callbacks'].par.panels.val),
                         kids['tap'])
        net.call(kids['tap_button_callbacks'], 'onOffToOn', None)
        net.call(kids['tap_key_callbacks'], 'onOffToOn', None, 0, 1.0, 0.0)
        self.assertEqual(kids['spotify1'].par.Tap.pulses, 2)
        return kids

    def test_custom_op_from_the_plugins_folder_needs_no_path(self):
        with Home():
            net = Network(custom_op=True)
            kids = self.check_show(net, build(net))
        self.assertEqual(kids['spotify1'].type_name, 'tdspotifyCHOP')
        self.assertEqual(kids['now_playing'].type_name, 'tdspotifydatDAT')
        self.assertEqual(net.ui.asked, 0)

    def test_custom_op_found_whatever_its_python_type_is_called(self):
        for names, as_strings in ((('Tdspotify', 'Tdspotifydat'), False),
                                  (('tdspotifyCHOP', 'tdspotifydatDAT'), True)):
            with self.subTest(names=names, as_strings=as_strings), Home():
                net = Network(custom_op=True, custom_names=names, families_as_strings=as_strings)
                kids = self.check_show(net, build(net))
                self.assertEqual((kids['spotify1'].type_name, kids['now_playing'].type_name), names)
                self.assertEqual(net.ui.asked, 0)

    def test_windows_plugins_folder_file_becomes_the_plugin_path(self):
        with Home('Documents/Derivative/Plugins/td-spotify/td_spotify.dll', 'win32') as home:
            net = Network()
            kids = self.check_show(net, build(net))
            self.assertEqual(kids['spotify1'].type_name, 'cplusplusCHOP')
            self.assertEqual(kids['spotify1'].par.plugin.val, home.plugin.replace('\\', '/'))
            self.assertEqual(kids['now_playing'].par.plugin.val, home.plugin.replace('\\', '/'))
        self.assertEqual(net.ui.asked, 0)

    def test_macos_plugins_folder_is_in_application_support(self):
        where = 'Library/Application Support/Derivative/TouchDesigner099/Plugins/td_spotify.plugin'
        with Home(where, 'darwin') as home:
            net = Network()
            kids = self.check_show(net, build(net))
            self.assertEqual(kids['spotify1'].par.plugin.val, home.plugin)
        # …and not ~/Documents, where the old guide sent macOS users.
        with Home('Documents/Derivative/Plugins/td_spotify.plugin', 'darwin'):
            net = Network(chosen_file=None)
            self.assertIsNone(build(net))
            self.assertEqual(net.ui.asked, 1)

    def test_asks_for_the_file_when_it_finds_none(self):
        with Home():
            net = Network(chosen_file='/somewhere/libtd_spotify.so')
            kids = self.check_show(net, build(net))
        self.assertEqual(net.ui.asked, 1)
        self.assertEqual(kids['spotify1'].par.plugin.val, '/somewhere/libtd_spotify.so')

    def test_cancelled_choice_builds_nothing_and_says_why(self):
        with Home():
            net = Network(chosen_file=None)
            self.assertIsNone(build(net))
        self.assertIsNone(net.root.op('spotify_demo'))
        self.assertIn('nothing built', net.printed[-1])

    def test_running_it_again_replaces_the_show(self):
        with Home():
            net = Network(custom_op=True)
            build(net)
            net.root.children.pop('build')
            self.check_show(net, build(net))

    # The fake must catch the mistakes issue 14 found; each mutation must fail.
    def assert_mutation_fails(self, old, new):
        source = read(SCRIPT)
        self.assertIn(old, source)
        with Home():
            net = Network(custom_op=True)
            with self.assertRaises((FakeError, AttributeError, NameError, TypeError, AssertionError)):
                self.check_show(net, build(net, source.replace(old, new, 1)))

    def test_fake_rejects_a_cell_added_to_a_string(self):
        self.assert_mutation_fails("['name', 'value'].val + ", "['name', 'value'] + ")

    def test_fake_rejects_a_resolution_without_custom_output_resolution(self):
        self.assert_mutation_fails("top.par.outputresolution = 'custom'", "pass")

    def test_fake_rejects_unknown_types_parameters_tokens_and_channels(self):
        self.assert_mutation_fails('moviefileinTOP', 'movieFileInTOP')
        self.assert_mutation_fails('fontsizex', 'fontsize')
        self.assert_mutation_fails("'fitbest'", "'best'")
        self.assert_mutation_fails("channames = 'beat'", "channames = 'beats'")
        self.assert_mutation_fails("['progress']\"", "['progres']\"")
        self.assert_mutation_fails('par.Tap.pulse()', 'par.Tap = 1')

    def test_script_is_meant_for_a_text_dat(self):
        source = read(SCRIPT)
        self.assertIn('Run Script', source)
        self.assertNotIn('Alt+T', source)


def section(title):
    """The text of the README section `## N. title` (or `## title`), up to the next `## `."""
    text = read(GUIDE)
    start = re.search(r'^## (?:\d+\. )?%s\n' % re.escape(title), text, flags=re.M)
    assert start, 'README has no section %r' % title
    return re.split(r'^## ', text[start.end():], maxsplit=1, flags=re.M)[0]


def recipe_blocks():
    """(heading, code) of every ```python block in the README's Recipes section."""
    section_text = section('Recipes')
    blocks = []
    for part in re.split(r'^### ', section_text, flags=re.M)[1:]:
        heading = part.splitlines()[0].strip()
        for code in re.findall(r'```python\n(.*?)```', part, flags=re.S):
            blocks.append((heading, code))
    return blocks


class Recipes(unittest.TestCase):
    REQUIRED = ('Progress bar', 'Beat flash', 'Colour from valence and energy', 'Album art',
                'Tap from a key or a button', 'Info CHOP and Info DAT', 'Pulsing from Python')

    def test_every_required_recipe_is_there(self):
        headings = [h for h, _ in recipe_blocks()]
        for name in self.REQUIRED:
            self.assertTrue(any(h.startswith(name) for h in headings), '%s missing: %s' % (name, headings))

    def test_recipes_work_as_written(self):
        blocks = recipe_blocks()
        self.assertGreaterEqual(len(blocks), len(self.REQUIRED))
        for heading, code in blocks:
            with self.subTest(recipe=heading):
                net = Network(custom_op=True)
                net.root.create(net.optypes['tdspotifyCHOP'], 'spotify1')
                net.root.create(net.optypes['tdspotifydatDAT'], 'now_playing')
                net.run(code, net.text_dat('recipe'), heading)
                net.evaluate()
                spotify = net.root.op('spotify1')
                for node in net.created:
                    if node.type_name in ('panelexecuteDAT', 'chopexecuteDAT'):
                        args = (None,) if node.type_name == 'panelexecuteDAT' else (None, 0, 1.0, 0.0)
                        net.call(node, 'onOffToOn', *args)
                        self.assertGreater(spotify.par.Tap.pulses, 0, heading)
                    if node.type_name in ('infoCHOP', 'infoDAT'):
                        self.assertIs(node.op(node.par.op.val), spotify, heading)

    def test_colour_recipe_scales_to_the_hue_offset_range(self):
        code = dict(recipe_blocks())['Colour from valence and energy']
        self.assertIn('* 360', code)


class Lint(unittest.TestCase):
    def test_ruff_builtins_are_what_the_fake_defines(self):
        text = read(os.path.join(TD, 'ruff.toml'))
        names = re.findall(r'"(\w+)"', text.split('builtins = [', 1)[1].split(']', 1)[0])
        net = Network()
        defined = set(net.globals_for(net.text_dat())) - {'print', '__name__'}
        self.assertEqual(sorted(names), sorted(defined))


class Guide(unittest.TestCase):
    def test_plugins_folders_are_right_for_both_platforms(self):
        text = read(GUIDE)
        self.assertIn('~/Library/Application Support/Derivative/TouchDesigner099/Plugins', text)
        self.assertIn('Documents\\Derivative\\Plugins', text)
        self.assertNotIn('~/Documents/Derivative/Plugins', text)

    def test_troubleshooting_covers_the_first_hour(self):
        text = section('Troubleshooting')
        for topic in ('cannot load', 'permission', 'Apple Silicon', 'quarantine', 'Plugin Path',
                      'Login required', '403', 'active device', 'pulls'):
            self.assertIn(topic, text)

    def test_no_uniform_scale_or_unscaled_hue(self):
        text = read(GUIDE)
        self.assertNotIn('Uniform Scale', text)
        self.assertNotIn("Hue Offset*: `op('spotify')['valence']`", text)


class Diagrams(unittest.TestCase):
    NS = '{http://www.w3.org/2000/svg}'

    def texts(self, name):
        root = ET.parse(os.path.join(TD, name)).getroot()
        self.assertEqual(root.tag, self.NS + 'svg')
        return root, [''.join(t.itertext()) for t in root.iter(self.NS + 'text')]

    def test_diagrams_are_svg_and_in_the_guide(self):
        guide = read(GUIDE)
        for name in ('example_network.svg', 'channels.svg'):
            self.texts(name)
            self.assertIn('](%s)' % name, guide)

    def test_network_diagram_names_every_operator_the_script_builds(self):
        _, texts = self.texts('example_network.svg')
        joined = ' '.join(texts)
        with Home():
            net = Network(custom_op=True)
            demo = build(net)
        for name in demo.children:
            self.assertIn(name, joined)

    def test_committed_diagrams_are_what_diagrams_py_draws(self):
        import diagrams
        for name, draw in diagrams.DIAGRAMS.items():
            self.assertEqual(read(os.path.join(TD, name)), draw(),
                             '%s is stale: run python3 TouchDesigner/test/diagrams.py' % name)

    def test_channel_diagram_names_real_channels(self):
        root, _ = self.texts('channels.svg')
        channels = plugin_schema()[1]
        named = [''.join(t.itertext()) for t in root.iter(self.NS + 'text')
                 if t.get('class') == 'channel']
        self.assertGreaterEqual(len(named), 5)
        for name in named:
            self.assertIn(name, channels)


if __name__ == '__main__':
    unittest.main()
