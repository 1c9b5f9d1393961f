"""Notifications through Apprise: one message per announced change, per health episode and per
claim status change, to each configured target whose filter wants it.

- `targets`: the `notify` entries of the settings (an Apprise URL and a filter), parsed and checked;
- `events`: what can be announced, from the record (`EVENT_SOURCES`; a new kind of event is one more
  function there);
- `messages`: a message's title and plain-text body;
- `deliver`: sending one message with Apprise, bounded in time;
- `dispatch`: a pass over targets and events that sends what each target has not received yet and keeps a
  delivery record per target and event, so nothing is sent twice and a failed delivery is tried again on
  the next pass.
"""
