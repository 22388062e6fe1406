"""Templates build addresses with `fast_url_for` (perisai/templating.py), which fills in an
address learnt once per request: it must give exactly what Flask's `url_for` gives."""
from flask import url_for

from perisai.templating import fast_url_for

# Values as pages pass them, and values a path must quote.
SAMPLES = {"int": [1, 42, 9_000_000_001], "default": [
    "scale.agent1079", "711978782572", "a b", "é/ü", "x@y:z", "50%", "?&=#", "+62 812"]}


def test_every_route_gets_the_same_address_as_url_for(app):
    with app.test_request_context("/"):
        checked = 0
        for rule in app.url_map.iter_rules():
            names = sorted(rule.arguments)
            if not names:
                assert fast_url_for(rule.endpoint) == url_for(rule.endpoint)
                continue
            for round_ in range(len(SAMPLES["default"])):
                values = {}
                for name in names:
                    kind = "int" if type(rule._converters[name]).__name__ == "IntegerConverter" \
                        else "default"
                    values[name] = SAMPLES[kind][round_ % len(SAMPLES[kind])]
                assert fast_url_for(rule.endpoint, **values) == url_for(rule.endpoint, **values)
                checked += 1
        assert checked > 50  # the app's routes with values were all tried


def test_query_arguments_and_options_go_through_url_for(app):
    with app.test_request_context("/"):
        for _ in range(2):  # the second call would use what the first one learnt
            assert (fast_url_for("supervisor.agent", username="a.b", page=2, to="2026-01-31")
                    == url_for("supervisor.agent", username="a.b", page=2, to="2026-01-31"))
            assert (fast_url_for("receipts.show", number="7", _external=True)
                    == url_for("receipts.show", number="7", _external=True))
            assert (fast_url_for("receipts.show", number="7", _anchor="late")
                    == url_for("receipts.show", number="7", _anchor="late"))


def test_templates_use_it(app):
    assert app.jinja_env.globals["url_for"] is fast_url_for
