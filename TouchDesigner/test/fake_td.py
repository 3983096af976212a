"""A small, strict fake of the TouchDesigner Python API, for the example network and the recipes.

It records what a script builds and fails on what TouchDesigner would reject or silently ignore:
an operator type or parameter not in td_operators.json (each listed with its documentation page),
a menu token not in the parameter's menu, a value of the wrong kind, a wire to an input the type
does not have, an attribute an OP does not have. The plugin's own parameters, channels and DAT rows
come from the generated tables in TouchDesigner/README.md, which tests/docs.rs keeps equal to
rust/schema/.

After a script ran, `Network.evaluate()` evaluates every parameter expression as TouchDesigner
would, with CHOP channels as numbers and DAT cells as `Cell` objects (which, like TouchDesigner's,
cannot be added to a string: use `.val`).
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
GUIDE = os.path.join(HERE, '..', 'README.md')


def load_catalogue():
    with open(os.path.join(HERE, 'td_operators.json'), encoding='utf-8') as f:
        return json.load(f)


def generated_table(name):
    """Rows of the README's generated table `name` (between its markers), as lists of cells."""
    with open(GUIDE, encoding='utf-8') as f:
        text = f.read()
    block = text.split('<!-- generated:%s -->' % name, 1)[1].split('<!-- end:%s -->' % name, 1)[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        rows.append([c.strip().strip('`') for c in line.strip().strip('|').split('|')])
    return rows


def plugin_schema():
    """The plugin's parameters {name: kind}, channel names and Now-playing row names."""
    kinds = {'toggle': 'toggle', 'menu': 'str', 'integer': 'int', 'float': 'float', 'string': 'str',
             'pulse': 'pulse', 'folder': 'str'}
    params = {row[0]: kinds[row[3]] for row in generated_table('parameters')}
    channels = [row[1] for row in generated_table('channels')]
    rows = [row[0] for row in generated_table('rows')]
    return params, channels, rows


class FakeError(AssertionError):
    """Something TouchDesigner would reject, or would accept and then ignore."""


class OPType:
    """An operator type, as the names `rectangleTOP`, `cplusplusCHOP`… are in TouchDesigner."""

    def __init__(self, name, spec):
        self.__name__ = name
        self.spec = spec

    def __repr__(self):
        return '<OPType %s>' % self.__name__


class Channel(float):
    """A CHOP channel used in an expression: a number."""


class Cell:
    """A DAT cell. Its text is `.val`; like TouchDesigner's, it is not a str."""

    def __init__(self, val):
        self.val = val


class Par:
    def __init__(self, owner, name, kind):
        self.owner, self.name, self.kind = owner, name, kind
        self.value = None
        self.expr_text = None
        self.pulses = 0

    @property
    def val(self):
        return self.value

    @val.setter
    def val(self, value):
        self.owner.network.check_value(self.owner, self.name, self.kind, value)
        self.value = value

    @property
    def expr(self):
        return self.expr_text

    @expr.setter
    def expr(self, text):
        if not isinstance(text, str):
            raise FakeError('%s.par.%s.expr must be a string' % (self.owner.path, self.name))
        self.expr_text = text

    def eval(self):
        return self.value

    def pulse(self):
        if self.kind != 'pulse':
            raise FakeError('%s.par.%s is not a pulse parameter' % (self.owner.path, self.name))
        self.pulses += 1


class ParCollection:
    def __init__(self, owner, kinds):
        object.__setattr__(self, '_owner', owner)
        object.__setattr__(self, '_pars', {n: Par(owner, n, k) for n, k in kinds.items()})

    def __getattr__(self, name):
        try:
            return self._pars[name]
        except KeyError:
            raise AttributeError('%s (%s, see %s) has no parameter %r' % (
                self._owner.path, self._owner.type_name, self._owner.spec['doc'], name)) from None

    def __setattr__(self, name, value):
        getattr(self, name).val = value


class Connector:
    def __init__(self, owner, index):
        self.owner, self.index = owner, index

    def connect(self, target):
        source = target.owner if isinstance(target, Connector) else target
        if not isinstance(source, OP):
            raise FakeError('connect() needs an OP or a connector, got %r' % (target,))
        if source.family != self.owner.family:
            raise FakeError('cannot wire %s (%s) into %s (%s)' % (
                source.path, source.family, self.owner.path, self.owner.family))
        self.owner.inputs[self.index] = source


class OP:
    SETTABLE = {'nodeX', 'nodeY', 'viewer', 'comment'}

    def __init__(self, network, parent, type_name, name):
        spec = network.types[type_name]
        kinds = dict(spec['params'])
        if spec.get('common_top'):
            kinds.update(network.catalogue['common_top']['params'])
        if spec.get('plugin_params') or spec.get('custom'):
            kinds.update(network.plugin_params)
        d = self.__dict__
        d.update(network=network, parent_op=parent, type_name=type_name, spec=spec,
                 family=spec['family'], name=name, children={}, inputs={}, text_value='',
                 nodeX=0, nodeY=0, viewer=False, comment='')
        d['par'] = ParCollection(self, kinds)

    def __setattr__(self, name, value):
        if name == 'text' and self.family == 'DAT':
            self.__dict__['text_value'] = value
        elif name in self.SETTABLE:
            self.__dict__[name] = value
        else:
            raise AttributeError('%s has no settable attribute %r' % (self.path, name))

    @property
    def text(self):
        return self.text_value

    @property
    def path(self):
        return (self.parent_op.path.rstrip('/') if self.parent_op else '') + '/' + self.name

    @property
    def inputConnectors(self):
        n = self.spec['inputs']
        return [Connector(self, i) for i in range(n)]

    def parent(self):
        return self.parent_op

    def op(self, path):
        # A COMP finds its children; any other OP finds its siblings, as in TouchDesigner.
        node = self if self.family == 'COMP' else self.parent_op
        while path.startswith('../'):
            node, path = node.parent_op if node else None, path[3:]
        for part in path.split('/'):
            if node is None or not part:
                return None
            node = node.children.get(part)
        return node

    def create(self, op_type, name):
        if self.family != 'COMP':
            raise FakeError('%s is not a COMP: it cannot create operators' % self.path)
        type_name = op_type.__name__ if isinstance(op_type, OPType) else op_type
        if type_name not in self.network.types:
            raise FakeError('unknown operator type %r (not in td_operators.json)' % (type_name,))
        if name in self.children:
            raise FakeError('%s already has a child %r' % (self.path, name))
        node = OP(self.network, self, type_name, name)
        self.children[name] = node
        self.network.created.append(node)
        return node

    def destroy(self):
        del self.parent_op.children[self.name]

    # What expressions see.
    def __getitem__(self, key):
        return self.network.lookup(self, key)


class UI:
    def __init__(self, chosen):
        self.chosen = chosen
        self.asked = 0

    def chooseFile(self, load=True, start=None, fileTypes=None, title=None, asExpression=False):
        self.asked += 1
        return self.chosen


class Project:
    def __init__(self, folder):
        self.folder = folder


class Network:
    """One TouchDesigner session: /project1, the Custom OPs it loaded, what the user would choose."""

    def __init__(self, custom_op=False, chosen_file=None, project_folder='/nonexistent',
                 custom_names=('tdspotifyCHOP', 'tdspotifydatDAT'), families_as_strings=False):
        self.catalogue = load_catalogue()
        self.types = dict(self.catalogue['types'])
        self.plugin_params, self.channels, self.rows = plugin_schema()
        self.families = {'COMP': [], 'TOP': [], 'CHOP': [], 'SOP': [], 'DAT': [], 'MAT': [],
                         'POP': []}
        self.optypes = {n: OPType(n, s) for n, s in self.types.items()}
        if custom_op:
            # How TouchDesigner names a Custom OP's Python type is not documented where we looked;
            # tests try more than one spelling.
            for family, name in zip(('CHOP', 'DAT'), custom_names):
                spec = {'family': family, 'doc': 'https://derivative.ca/UserGuide/Custom_Operators',
                        'inputs': 1 if family == 'CHOP' else 0, 'params': {}, 'custom': True}
                self.types[name] = spec
                self.optypes[name] = OPType(name, spec)
        for t in self.optypes.values():
            self.families[t.spec['family']].append(t.__name__ if families_as_strings else t)
        self.created = []
        self.root = OP(self, None, 'containerCOMP', 'project1')
        self.ui = UI(chosen_file)
        self.project = Project(project_folder)
        self.printed = []

    def text_dat(self, name='build'):
        return self.root.create(self.optypes['textDAT'], name)

    def globals_for(self, me):
        g = {'me': me, 'op': me.op, 'parent': me.parent, 'families': self.families, 'ui': self.ui,
             'project': self.project, 'print': lambda *a: self.printed.append(' '.join(map(str, a))),
             '__name__': '__main__'}
        g.update(self.optypes)
        return g

    def run(self, source, me, filename='<script>'):
        exec(compile(source, filename, 'exec'), self.globals_for(me))

    def check_value(self, node, name, kind, value):
        where = '%s.par.%s (%s)' % (node.path, name, node.spec['doc'])
        if isinstance(kind, list):
            if value not in kind:
                raise FakeError('%s: %r is not one of its menu tokens %s' % (where, value, kind))
        elif kind in ('str', 'op'):
            if not isinstance(value, str):
                raise FakeError('%s takes a string, got %r' % (where, value))
        elif kind == 'pulse':
            raise FakeError('%s is a pulse: call .pulse(), do not assign it' % where)
        elif not isinstance(value, (int, float, bool)):
            raise FakeError('%s takes a number, got %r' % (where, value))
        low_high = node.spec.get('ranges', {}).get(name)
        if low_high and isinstance(value, (int, float)) and not low_high[0] <= value <= low_high[1]:
            raise FakeError('%s: %r is outside %s' % (where, value, low_high))

    # Expressions -------------------------------------------------------------------------------
    def channels_of(self, node):
        """The channel names a CHOP outputs, as far as the fake can tell."""
        if node.spec.get('plugin_params') or node.spec.get('custom'):
            return self.channels
        if node.type_name == 'selectCHOP':
            source = node.op(node.par.chop.val or '')
            names = (node.par.channames.val or '').split()
            known = self.channels_of(source) if source else []
            missing = [n for n in names if n not in known]
            if missing or source is None:
                raise FakeError('%s selects %s from %r, which has %s' % (
                    node.path, names, node.par.chop.val, known))
            return names
        if node.type_name in ('lagCHOP', 'nullCHOP'):
            source = node.inputs.get(0)
            if source is None:
                raise FakeError('%s has nothing wired into its input' % node.path)
            return self.channels_of(source)
        return None  # unknown: any name

    def lookup(self, node, key):
        if node.family == 'CHOP':
            known = self.channels_of(node)
            if known is not None and key not in known:
                raise FakeError('%s has no channel %r (it has %s)' % (node.path, key, known))
            return Channel(0.5)
        if node.family == 'DAT' and isinstance(key, tuple):
            row, col = key
            if node.spec.get('plugin_params') or node.spec.get('custom'):
                if row not in self.rows or col not in ('field', 'value'):
                    return None  # TouchDesigner returns None for a missing cell
                return Cell('text of %s' % row)
            return Cell('')
        raise FakeError('%s[%r]: not something an expression can read' % (node.path, key))

    def evaluate(self):
        """Evaluates every expression; returns {par path: value}. Raises on the first misuse."""
        values = {}
        for node in self.created:
            if node.parent_op is None or node.name not in node.parent_op.children:
                continue
            for par in node.par._pars.values():
                if par.expr_text is None:
                    continue
                g = {'op': node.op, 'me': node, 'parent': node.parent}
                try:
                    value = eval(par.expr_text, g)
                except FakeError:
                    raise
                except Exception as e:
                    raise FakeError('%s.par.%s expression %r fails: %s: %s' % (
                        node.path, par.name, par.expr_text, type(e).__name__, e)) from e
                self.check_value(node, par.name, par.kind, value)
                values['%s.%s' % (node.path, par.name)] = value
        return values

    def call(self, dat, function, *args):
        """Runs callback `function` of an Execute DAT's text, as TouchDesigner would."""
        g = {'op': dat.op, 'me': dat, 'parent': dat.parent}
        exec(compile(dat.text, dat.path, 'exec'), g)
        if function not in g:
            raise FakeError('%s defines no %s()' % (dat.path, function))
        return g[function](*args)


def references(expr):
    """The op('…') names an expression refers to."""
    return re.findall(r"op\('([^']+)'\)", expr)
