import pytest

from actions.navigation import Guides, Position, step_response, stuck_response


@pytest.fixture(scope="module")
def guides() -> Guides:
    return Guides.load()


def test_a_task_intent_starts_its_guide(guides):
    move = guides.move("get_pesel", Position(), None)
    assert move.responses == ["utter_get_pesel_step_1"]
    assert move.position == Position("get_pesel", 1)


def test_next_advances_only_from_the_step_just_shown(guides):
    here = Position("get_pesel", 2)
    assert guides.move("affirm", here, step_response("get_pesel", 2)).position.step == 3
    # after an FAQ answer or stuck help, "yes/continue" shows the same step again
    again = guides.move("affirm", here, "utter_offer_continue")
    assert again.responses == ["utter_get_pesel_step_2"] and again.position == here


def test_the_last_step_finishes_the_guide(guides):
    last = len(guides.steps("get_pesel"))
    move = guides.move("affirm", Position("get_pesel", last), step_response("get_pesel", last))
    assert move.responses == ["utter_get_pesel_done"]
    assert move.position == Position()


@pytest.mark.parametrize("intent", ["deny", "help"])
def test_stuck_shows_the_help_of_the_step(guides, intent):
    move = guides.move(intent, Position("ikp_login", 3), step_response("ikp_login", 3))
    assert move.responses == [stuck_response("ikp_login", 3)]
    assert move.position == Position("ikp_login", 3)


def test_the_trusted_profile_question_branches_on_yes_and_goes_on_on_no(guides):
    asked = step_response("get_trusted_profile", 1)
    assert guides.steps("get_trusted_profile")[0]["question"]
    yes = guides.move("affirm", Position("get_trusted_profile", 1), asked)
    assert yes.position == Position("extend_trusted_profile", 1)
    no = guides.move("deny", Position("get_trusted_profile", 1), asked)
    assert no.position == Position("get_trusted_profile", 2)


def branch_step(guides: Guides) -> int:
    steps = guides.steps("forgot_password")
    return next(i for i, s in enumerate(steps, 1) if s["branch"] == "forgot_username")


def test_forgot_username_inside_a_password_reset_returns_to_the_reset(guides):
    n = branch_step(guides)
    stuck_here = Position("forgot_password", n)
    branch = guides.move("forgot_username", stuck_here, stuck_response("forgot_password", n))
    assert branch.position == Position("forgot_username", 1, f"forgot_password:{n}")

    position = branch.position
    total = len(guides.steps("forgot_username"))
    for step in range(1, total + 1):
        move = guides.move("affirm", position, step_response("forgot_username", step))
        position = move.position
    assert move.responses == ["utter_forgot_username_done", "utter_forgot_password_resume"]
    assert position == Position(None, None, f"forgot_password:{n}")

    back = guides.move("forgot_password", position, "utter_forgot_password_resume")
    assert back.position == Position("forgot_password", n)
    assert back.responses == [step_response("forgot_password", n)]


def test_yes_after_the_resume_offer_goes_back_too(guides):
    n = branch_step(guides)
    move = guides.move("affirm", Position(None, None, f"forgot_password:{n}"), "utter_forgot_password_resume")
    assert move.position == Position("forgot_password", n)


def test_a_different_task_started_without_being_stuck_does_not_remember_a_return(guides):
    move = guides.move("forgot_username", Position("forgot_password", 2), step_response("forgot_password", 2))
    assert move.position == Position("forgot_username", 1)


def test_asking_for_the_current_task_again_resumes_it(guides):
    move = guides.move("ikp_login", Position("ikp_login", 4), "utter_faq/ikp_cost")
    assert move.position == Position("ikp_login", 4)


def test_outside_a_walkthrough_yes_and_help_show_the_menu_and_no_asks_what_else(guides):
    assert guides.move("affirm", Position(), "utter_greet").responses == ["utter_menu"]
    assert guides.move("help", Position(), None).responses == ["utter_menu"]
    assert guides.move("deny", Position(), None).responses == ["utter_anything_else"]
