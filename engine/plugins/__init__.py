"""Plugins: pluggy hook specifications and discovery (entry points and drop-in folders).

A plugin is a module with functions marked `@hookimpl`, named after the hooks in
`engine.plugins.hookspecs`. See docs/plugins.md.
"""

from engine.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
