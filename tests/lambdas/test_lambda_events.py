"""The event shapes users' state machines pass between the Lambdas."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.lambda_events import EventFormatError, event_body, response

bodies = st.dictionaries(st.text(min_size=1).filter(lambda k: k != "body"),
                         st.one_of(st.integers(), st.text(), st.lists(st.floats(0, 1))), max_size=4)


@given(bodies)
def test_every_accepted_shape_gives_the_same_body(body):
    assert event_body(body) == body                                  # just the body
    assert event_body(response(body)) == body                        # the whole response
    assert event_body({"body": json.dumps(body)}) == body            # body as a JSON string
    assert event_body(json.dumps(response(body))) == body            # everything as a string


@pytest.mark.parametrize("event,message", [
    ([1, 2], "the event must be a JSON object, got list"),
    ({"body": "not json"}, "the event's body is a string but not JSON: 'not json'"),
    ({"body": "[1]"}, "the event's body must decode to a JSON object, got list"),
    ({"body": 3}, "the event's body must be an object or a JSON string, got int"),
])
def test_bad_events_are_named(event, message):
    with pytest.raises(EventFormatError) as caught:
        event_body(event)
    assert str(caught.value) == message
