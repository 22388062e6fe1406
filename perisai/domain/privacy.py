"""What public pages may show of a person: enough to recognise, not enough to learn."""


def masked_name(name: str) -> str:
    """Siti Aminah → S*** A*****."""
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())


def last_digits_only(number: str, shown: int = 4) -> str:
    """12345678901 → •••••••8901: enough to recognise one's own number, never the whole."""
    return "•" * max(len(number) - shown, 0) + number[-shown:]
