"""How fast cases are answered: hand-built cases, and the figures worked out by hand.

The promised target is 5 working days (content/tillganglighet.yaml); a case's due date is 5
working days after the day it arrived. Swedish holidays used below (2025-2027): Christmas Eve,
Christmas Day and Boxing Day, New Year's Eve and Day, Epiphany (6 January), Good Friday and
Easter Monday (3 and 6 April 2026), Ascension Day (14 May 2026), Midsummer Eve (19 June 2026).
"""

from __future__ import annotations

import datetime as dt

from gvisite.extensions import db
from gvisite.handling_figures import (
    CaseDays,
    ProblemDays,
    by_month,
    handling_figures,
    last_12_months_start,
    nearest_rank,
    read_cases,
    read_problems,
    shown,
)
from gvisite.models import WITHDRAWN, Case, CaseEvent, PublishedProblem
from tests.fixtures_staff import StaffSite

D = dt.date
T = dt.datetime
YEAR_2026 = (D(2026, 1, 1), D(2026, 12, 31))
TODAY = D(2027, 1, 8)  # a fixed day, never the machine's

CASES = [
    # Friday 6 February, answered Monday 9th: the weekend is not counted, 1 day. Due 13th.
    CaseDays("report", D(2026, 2, 6), due=D(2026, 2, 13), answered=D(2026, 2, 9)),
    # Thursday 2 April, answered Tuesday 7th: Good Friday, the weekend and Easter Monday are
    # not counted, 1 day. Due 13 April.
    CaseDays("report", D(2026, 4, 2), due=D(2026, 4, 13), answered=D(2026, 4, 7)),
    # Friday 27 March, answered Thursday 2 April, across the change to summer time (29 March):
    # 30, 31 March, 1, 2 April = 4 days. Due 7 April (3 and 6 April are holidays).
    CaseDays("report", D(2026, 3, 27), due=D(2026, 4, 7), answered=D(2026, 4, 2)),
    # Wednesday 23 December, answered Monday 4 January 2027, across Christmas and the year
    # boundary: 28, 29, 30 December and 4 January = 4 days. Due 5 January. It counts in 2026,
    # the year it was received.
    CaseDays("report", D(2026, 12, 23), due=D(2027, 1, 5), answered=D(2027, 1, 4)),
    # Monday 15 June, answered Thursday 25th: 16, 17, 18, 22, 23, 24, 25 June = 7 days
    # (Midsummer Eve is not counted). Due 23 June: late.
    CaseDays("report", D(2026, 6, 15), due=D(2026, 6, 23), answered=D(2026, 6, 25)),
    # Monday 2 November, never answered, due 9 November: judged, and late.
    CaseDays("report", D(2026, 11, 2), due=D(2026, 11, 9)),
    # Withdrawn by its resident before an answer: received, never answered, never judged.
    CaseDays("report", D(2026, 5, 4), due=D(2026, 5, 11), withdrawn=True),
    # Answered by phone the next day, Wednesday 21 October: 1 day, on time (the summer time
    # ends on Sunday 25 October, after it).
    CaseDays("format", D(2026, 10, 20), due=D(2026, 10, 27), answered=D(2026, 10, 21)),
    # Wednesday 30 December, not answered yet; due 11 January 2027 (Epiphany on the 6th),
    # after today: not judged yet.
    CaseDays("format", D(2026, 12, 30), due=D(2027, 1, 11)),
    # Received in 2025: not in 2026's figures.
    CaseDays("report", D(2025, 12, 31), due=D(2026, 1, 12), answered=D(2026, 1, 2)),
]

PROBLEMS = [
    # Published Wednesday 1 April, fixed Friday 15 May. Working days after 1 April: 2 April
    # (1), 7-10 April (5), 13-17 (10), 20-24 (15), 27-30 (19), 4-8 May (24), 11-13 May (27),
    # 15 May (28); Good Friday, Easter Monday, 1 May and Ascension Day are not counted.
    ProblemDays(D(2026, 4, 1), fixed=D(2026, 5, 15)),
    # Published Tuesday 1 December 2026, not fixed yet.
    ProblemDays(D(2026, 12, 1)),
    # Published Monday 22 December 2025, fixed Wednesday 7 January 2026: 23 December (1),
    # 29, 30 December (3), 2 January (4), 5 January (5), 7 January (6); 24-26 and 31 December,
    # 1 and 6 January are holidays. Published in 2025, fixed in 2026: a fix of 2026.
    ProblemDays(D(2025, 12, 22), fixed=D(2026, 1, 7)),
]


def test_a_year_of_hand_built_cases() -> None:
    figures = handling_figures(CASES, PROBLEMS, *YEAR_2026, today=TODAY)
    assert figures.received == {"report": 7, "format": 2}
    assert figures.total == 9
    # Days to the first answer: 1, 1, 4, 4, 7 and 1 (withdrawn and unanswered cases have
    # none). Sorted 1, 1, 1, 4, 4, 7: the median is (1 + 4) / 2; 90 % of 6 is 5.4, so the
    # 90th percentile is the 6th value.
    assert figures.answered == 6
    assert figures.median_days == 2.5
    assert figures.p90_days == 7
    # Judged: the 6 answered and the unanswered one past its due date. On time: 5 of 7.
    assert (figures.judged, figures.within_target) == (7, 5)
    assert figures.share_within_target == 71  # 71.4 %
    assert (figures.problems_published, figures.problems_fixed) == (2, 2)
    assert figures.median_fix_days == 17  # (28 + 6) / 2
    # Published: 2 problems and 2 fixes are under 5, so the public sees "fewer than 5"; the
    # median of two fixes would tell each one's time, so it is not shown either.
    assert shown(figures.problems_published) is None
    assert figures.shown_fix_days() is None
    assert figures.shown_median() == 2.5
    assert figures.shown_p90() == 7
    assert shown(figures.total) == 9


def test_counts_under_five_are_never_shown_and_nor_is_what_they_would_give_away() -> None:
    february = handling_figures(CASES, PROBLEMS, D(2026, 2, 1), D(2026, 2, 28), today=TODAY)
    assert february.received == {"report": 1, "format": 0}
    assert shown(february.received["report"]) is None  # "fewer than 5"
    assert shown(february.received["format"]) == 0  # no one is singled out by a zero
    assert february.shown_median() is None  # one case's own time
    assert february.shown_p90() is None
    assert february.share_within_target is None
    # Staff see their own cases: with the smallest count 1, every figure is there.
    staff = handling_figures(CASES, PROBLEMS, D(2026, 2, 1), D(2026, 2, 28), TODAY, smallest=1)
    assert (staff.shown_median(), staff.share_within_target) == (1, 100)


def test_an_answer_after_today_and_closing_without_one_are_not_answers() -> None:
    cases = [
        # Closed without a reply: the case has no answer (closing is not answering).
        CaseDays("report", D(2026, 9, 1), due=D(2026, 9, 8)),
        # An answer recorded after the day the figures are made for does not count yet.
        CaseDays("report", D(2026, 9, 2), due=D(2026, 9, 9), answered=D(2026, 9, 20)),
    ]
    figures = handling_figures(cases, [], *YEAR_2026, today=D(2026, 9, 10), smallest=1)
    assert figures.answered == 0 and figures.median_days is None
    assert (figures.judged, figures.within_target) == (2, 0)  # both past due, unanswered


def test_the_90th_percentile_is_a_days_count_someone_actually_waited() -> None:
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank([5], 90) == 5
    assert nearest_rank(list(range(20, 0, -1)), 90) == 18


def test_months_split_the_year_and_add_up_to_it() -> None:
    months = by_month(CASES, PROBLEMS, *YEAR_2026, today=TODAY)
    assert [m.start for m in months][:3] == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert [m.end for m in months][1] == D(2026, 2, 28)
    assert len(months) == 12
    assert sum(m.total for m in months) == 9
    assert [m.total for m in months] == [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 2]
    assert sum(m.problems_fixed for m in months) == 2


def test_the_database_gives_stockholm_days_and_leaves_spam_out(staff_site: StaffSite) -> None:
    # 00:30 on Sunday 29 March in Stockholm, half an hour before summer time began (UTC+1),
    # answered by phone at 08:30 on Monday 30 March (UTC+2): 1 working day.
    spring = staff_site.case(
        created_at=T(2026, 3, 28, 23, 30),
        first_reply_at=T(2026, 3, 30, 6, 30),
        answered_by="phone",
        status="pagaende",
    )
    # 00:30 on Sunday 25 October in Stockholm (still UTC+2), withdrawn before an answer.
    autumn = staff_site.case(created_at=T(2026, 10, 24, 22, 30))
    # 00:30 on New Year's Day 2027 in Stockholm: a case of 2027, though still 2026 in UTC.
    staff_site.case("format", created_at=T(2026, 12, 31, 23, 30))
    # Closed the next day without an answer: judged late once its due date passed.
    staff_site.case(created_at=T(2026, 9, 1, 9), status="avslutad", closed_at=T(2026, 9, 2, 9))
    staff_site.case(created_at=T(2026, 6, 1, 9), first_reply_at=T(2026, 6, 2, 9), spam=True)
    with staff_site.app.app_context():
        case = db.session.get(Case, autumn.id)
        db.session.add(CaseEvent(case=case, at=T(2026, 10, 26, 9), action=WITHDRAWN))
        db.session.add(
            PublishedProblem(
                case_id=spring.id,
                what={"sv": "Knappen saknar namn."},
                criteria=["4.1.2"],
                published_at=T(2026, 3, 31, 22, 30),  # 00:30 on 1 April in Stockholm
                resolved_at=T(2026, 5, 15, 8),
            )
        )
        db.session.commit()
        cases = sorted(read_cases(), key=lambda case: case.received)
        problems = read_problems()
    assert [(c.kind, c.received, c.answered, c.withdrawn) for c in cases] == [
        ("report", D(2026, 3, 29), D(2026, 3, 30), False),
        ("report", D(2026, 9, 1), None, False),
        ("report", D(2026, 10, 25), None, True),
        ("format", D(2027, 1, 1), None, False),
    ]
    assert problems == [ProblemDays(D(2026, 4, 1), D(2026, 5, 15))]
    figures = handling_figures(cases, problems, *YEAR_2026, today=TODAY, smallest=1)
    assert figures.received == {"report": 3, "format": 0}
    assert (figures.answered, figures.median_days) == (1, 1)
    assert (figures.judged, figures.within_target) == (2, 1)
    assert figures.median_fix_days == 28


def test_the_last_12_months_on_a_leap_day() -> None:
    # 29 February has no day a year before it: the months are still March 2027 to today.
    assert last_12_months_start(D(2028, 2, 29)) == D(2027, 3, 1)
    assert last_12_months_start(D(2026, 12, 9)) == D(2026, 1, 1)
    assert last_12_months_start(D(2026, 1, 31)) == D(2025, 2, 1)
