"""What a result is judged by: metrics, annualization, reasons to doubt it, its figures beside a
benchmark, and how they are written for people."""
