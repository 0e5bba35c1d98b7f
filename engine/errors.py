"""The one base class of every error a user's input can cause.

It sits at the bottom of the package and imports nothing, so any module can raise a user error.
The CLI prints such an error as one line naming what is wrong and where, and exits with status 2;
anything else is a defect and keeps its traceback.
"""


class UserError(Exception):
    """Bad input (a file, a strategy, an option, a plugin, a stored run): the message says what and where."""
