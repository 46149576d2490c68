"""The scale test's tracker audit (deploy/scale/audit.py) catches what two Rasa servers working on
one conversation at once do to its tracker: lost, duplicated, reordered or interleaved turns."""

import json

from deploy.scale.audit import check_burst, check_conversation, reduce_event, routing, served
from deploy.scale.topology import Layout, nginx_conf

LISTEN = ("action", "action_listen", {})
START = [("action", "action_session_start", {}), LISTEN]


def user(text, seq=None):
    return ("user", text, {} if seq is None else {"seq": seq})


def bot(text):
    return ("bot", text, {})


def turn(text, *answers, seq=None):
    return [user(text, seq), ("action", "utter_x", {}), *(bot(a) for a in answers), LISTEN]


SENT = ["hi", "/affirm", "/affirm"]
RECEIVED = [["hello"], ["step 1"], ["step 2"]]
CLEAN = [*START, *turn("hi", "hello"), *turn("/affirm", "step 1"), *turn("/affirm", "step 2")]


def test_a_complete_tracker_in_order_is_clean():
    findings = check_conversation(CLEAN, SENT, RECEIVED)
    assert findings.clean
    assert (findings.user_messages, findings.events) == (3, len(CLEAN))


def test_a_lost_turn_is_caught():
    events = [*START, *turn("hi", "hello"), *turn("/affirm", "step 1")]
    findings = check_conversation(events, SENT, RECEIVED)
    assert findings.lost == 1
    assert not findings.clean


def test_a_duplicated_user_message_is_caught():
    events = [*CLEAN, *turn("/affirm", "step 2")]
    assert check_conversation(events, SENT, RECEIVED).duplicated == 1


def test_turns_out_of_order_are_caught():
    events = [*START, *turn("/affirm", "step 1"), *turn("hi", "hello"), *turn("/affirm", "step 2")]
    assert check_conversation(events, SENT, RECEIVED).out_of_order == 2


def test_two_turns_processed_at_once_are_caught_even_with_every_message_there():
    # What a second server does when it takes the same lock ticket: both user messages land
    # before either answer, and one answer goes missing.
    events = [*START, *turn("hi", "hello"), user("/affirm"), user("/affirm"), bot("step 1"), LISTEN]
    findings = check_conversation(events, SENT, RECEIVED)
    assert findings.lost == 0 and findings.duplicated == 0
    assert findings.broken_turns == 2


def test_an_answer_that_differs_from_what_the_person_got_is_caught():
    assert check_conversation(CLEAN, SENT, [["hello"], ["step 1"], ["other"]]).reply_mismatches == 1


def test_paragraphs_split_by_the_rest_channel_match_one_bot_event():
    events = [*START, *turn("hi", "para 1\n\npara 2")]
    assert check_conversation(events, ["hi"], [["para 1", "para 2"]]).clean


def test_a_burst_accepted_in_full_and_whole_turns_is_clean():
    events = [*START, *turn("hello", "a", seq=1), *turn("hello", "b", seq=0)]
    assert check_burst(events, {0: 200, 1: 200}).clean


def test_a_burst_with_lost_duplicated_or_interleaved_messages_is_caught():
    events = [
        *START,
        *turn("hello", "a", seq=1),
        *turn("hello", "a", seq=1),
        user("hello", 3),
        *turn("h", "c", seq=4),
    ]
    findings = check_burst(events, {0: 200, 1: 200, 2: 500, 3: 200, 4: 200})
    assert findings.lost == 1  # seq 0 was accepted and is not there; seq 2 was refused
    assert findings.duplicated == 1
    assert findings.broken_turns == 2  # seq 3 never answered, seq 4 not listened for


def test_rows_of_rasas_events_table_are_read():
    data = json.dumps({"event": "user", "text": "hi", "metadata": {"seq": 3}, "parse_data": {}})
    assert reduce_event("user", None, data) == ("user", "hi", {"seq": 3})
    assert reduce_event("bot", None, json.dumps({"event": "bot", "text": "yo"})) == ("bot", "yo", {})
    assert reduce_event("action", "action_listen", "{}") == LISTEN
    assert reduce_event("slot", None, "{}") is None


def test_nginx_log_counts_per_instance_and_conversation(tmp_path):
    entries = [
        {
            "port": "6010",
            "method": "POST",
            "uri": "/webhooks/rest/webhook",
            "status": "200",
            "upstream": "a",
            "conversation": "c1",
        },
        {
            "port": "6010",
            "method": "POST",
            "uri": "/webhooks/rest/webhook",
            "status": "200",
            "upstream": "b",
            "conversation": "c1",
        },
        {
            "port": "6010",
            "method": "POST",
            "uri": "/webhooks/rest/webhook",
            "status": "502",
            "upstream": "b",
            "conversation": "c2",
        },
    ]
    log = tmp_path / "access.log"
    log.write_text("\n".join(json.dumps({**e, "seconds": "0.1"}) for e in entries))
    stats = routing(log)[6010]
    assert served(stats, "POST", "/webhooks/rest/webhook") == {"a": 1, "b": 2}
    assert {c: len(i) for c, i in stats["instances_of"].items()} == {"c1": 2, "c2": 1}
    assert stats["errors"] == 1


def test_the_nginx_configuration_routes_rasa_by_conversation(tmp_path):
    conf = nginx_conf(tmp_path, Layout.free())
    assert "{{" not in conf
    sticky = conf.split("upstream rasa_sticky {", 1)[1].split("}", 1)[0]
    assert "hash $rasa_conversation consistent;" in sticky
    assert sticky.count("server 127.0.0.1:") == 2


def test_what_the_tracker_store_masked_still_matches_what_the_person_got():
    events = [*START, *turn("call <phone>", "helpline: <phone>")]
    assert check_conversation(events, ["call +48 22 123 45 67"], [["helpline: +48 22 123 45 67"]]).clean
