"""The ``ivr`` subcommands beyond the core ones in :mod:`ivr.cli`; each module has
``register(sub, add_command)``.

With :mod:`ivr.cli`, :mod:`ivr.app` and :mod:`ivr.config` this is the composition layer: the
only code that sees the whole settings tree (``ivr.config.Settings``) and hands each package
its own section. Packages under ``ivr/`` never import ``ivr.config``.
"""
