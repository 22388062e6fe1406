"""What public pages may show of a person: enough to recognise, not enough to learn."""


def masked_name(name: str) -> str:
    """Siti Aminah → S*** A*****."""
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
