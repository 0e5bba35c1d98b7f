"""Bus topics. Stage outputs go to `targets/<position>:<stage name>`; the last one also to FINAL_TARGETS."""

BARS = "bars"
FINAL_TARGETS = "targets/final"
ORDERS = "orders"
FILLS = "fills"
END = "end"


def stage_topic(position: int, name: str) -> str:
    return f"targets/{position}:{name}"
