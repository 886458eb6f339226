"""The one exception the command line turns into a one-line message and a non-zero exit."""


class DDPGError(Exception):
    """A problem with the user's input (env id, config, run folder, checkpoint)."""
