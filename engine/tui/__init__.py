"""`engine tui`: a Textual face over the workspace the CLI works on (DESIGN §4): the runs (live while
they run), a run's detail, the stored data. It reads through the same API as the CLI and has no
logic of its own; it shows no secret."""
