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


def finish(guides: Guides, position: Position):
    """Presses "next" through the rest of the guide; the last move and where it leaves the person."""
    while True:
        move = guides.move("affirm", position, step_response(position.guide, position.step))
        position = move.position
        if position.guide is None:
            return move, position


def test_a_task_typed_in_the_middle_of_a_walkthrough_comes_back_to_it(guides):
    detour = guides.move(
        "forgot_username", Position("forgot_password", 2), step_response("forgot_password", 2)
    )
    assert detour.position == Position("forgot_username", 1, "forgot_password:2")
    end, position = finish(guides, detour.position)
    # the return is offered instead of the username reminder of the organisation's portal
    assert end.responses == ["utter_forgot_username_done", "utter_forgot_password_resume"]
    back = guides.move("affirm", position, "utter_forgot_password_resume")
    assert back.position == Position("forgot_password", 2)


def test_detours_inside_detours_come_back_in_order(guides):
    first = guides.move("ikp_login", Position("get_pesel", 3), step_response("get_pesel", 3))
    second = guides.move("forgot_password", first.position, step_response("ikp_login", 1))
    assert second.position == Position("forgot_password", 1, "get_pesel:3|ikp_login:1")
    end, position = finish(guides, second.position)
    assert end.responses[-1] == "utter_ikp_login_resume"
    to_ikp = guides.move("affirm", position, "utter_ikp_login_resume")
    assert to_ikp.position == Position("ikp_login", 1, "get_pesel:3")
    end, position = finish(guides, to_ikp.position)
    assert end.responses[-1] == "utter_get_pesel_resume"
    # the resume button asks for the task by name
    to_pesel = guides.move("get_pesel", position, "utter_get_pesel_resume")
    assert to_pesel.position == Position("get_pesel", 3)


def test_no_to_the_return_offer_forgets_it(guides):
    move = guides.move("deny", Position(None, None, "get_pesel:3"), "utter_get_pesel_resume")
    assert move.responses == ["utter_anything_else"]
    assert move.position == Position()


def test_a_task_started_outside_a_walkthrough_offers_no_return(guides):
    move = guides.move("forgot_username", Position(), "utter_greet")
    end, _ = finish(guides, move.position)
    assert end.responses == ["utter_forgot_username_done", "utter_offer_username_reminder_form"]


def test_the_interrupted_task_asked_for_by_name_resumes_it(guides):
    move = guides.move("get_pesel", Position("ikp_login", 2, "get_pesel:4"), step_response("ikp_login", 2))
    assert move.position == Position("get_pesel", 4)


def test_back_shows_the_step_before_or_the_step_again_after_a_detour(guides):
    here = Position("ikp_login", 3)
    assert guides.move("step_back", here, step_response("ikp_login", 3)).position == Position("ikp_login", 2)
    assert guides.move("step_back", here, stuck_response("ikp_login", 3)).position == here
    first = Position("ikp_login", 1)
    assert guides.move("step_back", first, step_response("ikp_login", 1)).position == first
    assert guides.move("step_back", Position(), "utter_greet").responses == ["utter_menu"]


def test_cancel_leaves_the_walkthrough_and_its_returns(guides):
    move = guides.move("cancel", Position("ikp_login", 3, "get_pesel:2"), step_response("ikp_login", 3))
    assert move.responses == ["utter_walkthrough_cancelled"]
    assert move.position == Position()
    assert guides.move("cancel", Position(), "utter_greet").responses == ["utter_anything_else"]


def test_asking_for_the_current_task_again_resumes_it(guides):
    move = guides.move("ikp_login", Position("ikp_login", 4), "utter_faq/ikp_cost")
    assert move.position == Position("ikp_login", 4)


def test_outside_a_walkthrough_yes_and_help_show_the_menu_and_no_asks_what_else(guides):
    assert guides.move("affirm", Position(), "utter_greet").responses == ["utter_menu"]
    assert guides.move("help", Position(), None).responses == ["utter_menu"]
    assert guides.move("deny", Position(), None).responses == ["utter_anything_else"]


def test_without_a_portal_of_its_own_the_organisation_offers_no_account_forms():
    guides = Guides.load(offers=False)
    end, _ = finish(guides, guides.move("forgot_password", Position(), "utter_greet").position)
    assert end.responses == ["utter_forgot_password_done"]
