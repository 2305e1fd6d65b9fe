"""The prize pool split: exact to the cent, capped, with a minimum payout, and independent of input order."""

import itertools
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentives.allocation import Allocation, Rules, allocate, rank_band

D = Decimal
PLAIN = Rules(alpha=D(1), max_share=None, minimum_payout=D(0))


def rules(*, alpha: str = "1", max_share: str | None = None, minimum: str = "0") -> Rules:
    return Rules(alpha=D(alpha), max_share=None if max_share is None else D(max_share), minimum_payout=D(minimum))


def amounts(**by_id: str) -> dict[int, Decimal]:
    return {int(creator_id.removeprefix("c")): D(amount) for creator_id, amount in by_id.items()}


# Examples worked by hand.


def test_equal_scores_split_evenly_and_the_spare_cent_goes_to_the_lowest_id():
    result = allocate(total=D("100.00"), scores={3: D(1), 1: D(1), 2: D(1)}, rules=PLAIN)

    assert result.amounts == amounts(c1="33.34", c2="33.33", c3="33.33")
    assert result.unallocated == D("0.00")
    assert list(result.shares) == [1, 2, 3]
    assert all(abs(share - D(1) / D(3)) < D("1e-25") for share in result.shares.values())


def test_tied_remainders_go_to_the_higher_score_and_a_creator_rounded_to_zero_is_left_out():
    # Exact amounts: 0.005 and 0.015, both half a cent over a whole cent; the spare cent goes to score 3.
    result = allocate(total=D("0.02"), scores={1: D(1), 2: D(3)}, rules=PLAIN)

    assert result.amounts == amounts(c2="0.02")
    assert result.shares == {1: D("0.25"), 2: D("0.75")}
    assert result.unallocated == 0


def test_alpha_one_is_plain_proportion_to_score():
    scores = {1: D("12.5"), 2: D("0.000001"), 3: D("987654.321"), 4: D("3")}

    result = allocate(total=D("5000.00"), scores=scores, rules=PLAIN)

    score_sum = sum(scores.values())
    for creator_id, score in scores.items():
        assert abs(result.shares[creator_id] - score / score_sum) < D("1e-25")


def test_alpha_below_one_lifts_the_small_creators_share():
    scores = {1: D(9), 2: D(1)}

    proportional = allocate(total=D("100.00"), scores=scores, rules=rules(alpha="1"))
    flattened = allocate(total=D("100.00"), scores=scores, rules=rules(alpha="0.5"))

    assert proportional.amounts == amounts(c1="90.00", c2="10.00")
    assert flattened.amounts == amounts(c1="75.00", c2="25.00")  # weights 3 and 1
    assert flattened.shares[2] > proportional.shares[2]


def test_money_over_the_cap_is_shared_among_the_others():
    result = allocate(total=D("100.00"), scores={1: D(8), 2: D(1), 3: D(1)}, rules=rules(max_share="0.4"))

    assert result.amounts == amounts(c1="40.00", c2="30.00", c3="30.00")
    assert result.unallocated == 0


def test_redistributed_money_can_push_a_second_creator_over_the_cap():
    # 60/20/10/10 caps creator 1 at 30; the 70 left splits 35/17.5/17.5, which caps creator 2 too.
    result = allocate(total=D("100.00"), scores={1: D(6), 2: D(2), 3: D(1), 4: D(1)}, rules=rules(max_share="0.3"))

    assert result.amounts == amounts(c1="30.00", c2="30.00", c3="20.00", c4="20.00")
    assert result.shares == {1: D("0.3"), 2: D("0.3"), 3: D("0.2"), 4: D("0.2")}


def test_a_single_creator_gets_only_the_cap_and_the_rest_is_carried_over():
    result = allocate(total=D("100.00"), scores={7: D(5)}, rules=rules(max_share="0.1"))

    assert result.amounts == amounts(c7="10.00")
    assert result.unallocated == D("90.00")


def test_too_few_creators_for_the_cap_carry_the_rest_over():
    result = allocate(total=D("100.00"), scores={1: D(100), 2: D(1), 3: D(1)}, rules=rules(max_share="0.25"))

    assert result.amounts == amounts(c1="25.00", c2="25.00", c3="25.00")
    assert result.unallocated == D("25.00")


def test_a_cap_smaller_than_one_cent_pays_nothing_rather_than_a_whole_cent():
    result = allocate(total=D("0.05"), scores={1: D(1)}, rules=rules(max_share="0.1"))

    assert result.amounts == {}
    assert result.shares == {1: D("0.1")}
    assert result.unallocated == D("0.05")


def test_rounding_never_lifts_a_capped_creator_over_the_cap():
    # Cap 0.105: creator 1 is held at it; the ten others get 0.0945 each, five of them the spare cents.
    scores = {1: D(1000)} | {creator_id: D(1) for creator_id in range(2, 12)}

    result = allocate(total=D("1.05"), scores=scores, rules=rules(max_share="0.1"))

    assert result.amounts[1] == D("0.10")
    assert sorted(result.amounts.values()) == [D("0.09")] * 5 + [D("0.10")] * 6
    assert [creator_id for creator_id, amount in result.amounts.items() if amount == D("0.10")] == [1, 2, 3, 4, 5, 6]
    assert result.unallocated == 0


def test_creators_below_the_minimum_are_dropped_and_their_money_goes_to_the_others():
    # 60/30/10: creator 3 is under 15, so the pool is split 6:3 between the other two.
    result = allocate(total=D("100.00"), scores={1: D(6), 2: D(3), 3: D(1)}, rules=rules(minimum="15"))

    assert result.amounts == amounts(c1="66.67", c2="33.33")
    assert result.shares[3] == 0
    assert result.unallocated == 0


def test_an_amount_exactly_at_the_minimum_is_paid():
    result = allocate(total=D("3.00"), scores={1: D(1), 2: D(1), 3: D(1)}, rules=rules(minimum="1.00"))

    assert result.amounts == amounts(c1="1.00", c2="1.00", c3="1.00")


def test_money_of_dropped_creators_is_carried_over_when_the_others_are_at_the_cap():
    # Caps hold 1 and 2 at 40; creator 3 would get 20, under the minimum of 25, and nobody else may take it.
    capped_with_minimum = rules(max_share="0.4", minimum="25")

    result = allocate(total=D("100.00"), scores={1: D(10), 2: D(10), 3: D(1)}, rules=capped_with_minimum)

    assert result.amounts == amounts(c1="40.00", c2="40.00")
    assert result.unallocated == D("20.00")


def test_a_minimum_above_the_whole_pool_carries_everything_over():
    result = allocate(total=D("10.00"), scores={1: D(1), 2: D(2)}, rules=rules(minimum="20"))

    assert result == Allocation(amounts={}, shares={1: D(0), 2: D(0)}, unallocated=D("10.00"))


def test_no_creators_carries_everything_over():
    assert allocate(total=D("100.00"), scores={}, rules=PLAIN) == Allocation(
        amounts={}, shares={}, unallocated=D("100.00")
    )


def test_creators_with_score_zero_get_nothing_and_an_all_zero_week_carries_everything_over():
    result = allocate(total=D("100.00"), scores={1: D(0), 2: D("0.000")}, rules=PLAIN)

    assert result == Allocation(amounts={}, shares={1: D(0), 2: D(0)}, unallocated=D("100.00"))
    assert allocate(total=D("1.00"), scores={1: D(0), 2: D(1)}, rules=PLAIN).amounts == amounts(c2="1.00")


def test_an_empty_pool_pays_nobody():
    result = allocate(total=D("0.00"), scores={1: D(1), 2: D(3)}, rules=PLAIN)

    assert result.amounts == {}
    assert result.unallocated == 0
    assert result.shares == {1: D("0.25"), 2: D("0.75")}


def test_a_one_cent_pool_among_many_equal_creators_pays_the_lowest_id():
    result = allocate(total=D("0.01"), scores={creator_id: D(1) for creator_id in range(500, 0, -1)}, rules=PLAIN)

    assert result.amounts == amounts(c1="0.01")
    assert result.unallocated == 0


def test_a_huge_pool_with_many_decimal_scores_adds_up_exactly():
    scores = {1: D("0.123456789012345678901234567"), 2: D("3.14159265358979323846264338327950288"), 3: D(1)}
    total = D(10**12).quantize(D("0.01"))

    result = allocate(total=total, scores=scores, rules=rules(alpha="0.8", max_share="0.6"))

    with localcontext(prec=50):
        assert sum(result.amounts.values()) + result.unallocated == total
    assert result.unallocated == 0
    assert len(result.amounts) == 3


def test_a_trillion_split_three_ways_rounds_to_the_cent():
    result = allocate(total=D("1000000000000.00"), scores={1: D(1), 2: D(1), 3: D(1)}, rules=PLAIN)

    assert result.amounts == amounts(c1="333333333333.34", c2="333333333333.33", c3="333333333333.33")


@pytest.mark.parametrize(
    ("total", "scores", "message"),
    [
        (D("-1.00"), {1: D(1)}, "total must be >= 0"),
        (D("1.005"), {1: D(1)}, "whole number of 0.01 units"),
        (D("NaN"), {1: D(1)}, "total"),
        (D("1.00"), {1: D(-1)}, "score of creator 1"),
        (D("1.00"), {1: D("Infinity")}, "score of creator 1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(total, scores, message):
    with pytest.raises(ValueError, match=message):
        allocate(total=total, scores=scores, rules=PLAIN)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"alpha": D("0.05")}, "alpha"),
        ({"alpha": D("2.5")}, "alpha"),
        ({"max_share": D(0)}, "max_share"),
        ({"max_share": D("1.1")}, "max_share"),
        ({"minimum_payout": D("-1")}, "minimum_payout"),
        ({"minimum_payout": D("0.005")}, "minimum_payout"),
        ({"unit": D(0)}, "unit"),
    ],
)
def test_bad_rules_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Rules(**{"alpha": D(1), "max_share": None, "minimum_payout": D(0)} | fields)


@pytest.mark.parametrize(
    ("rank", "of", "band"),
    [
        (1, 1, "top_1"),
        (1, 100, "top_1"),
        (2, 100, "top_10"),
        (10, 100, "top_10"),
        (11, 100, "top_25"),
        (25, 100, "top_25"),
        (26, 100, "top_50"),
        (50, 100, "top_50"),
        (51, 100, "rest"),
        (2, 150, "top_1"),  # ceil(1.5) = 2
        (2, 5, "top_25"),
        (3, 5, "top_50"),
        (4, 5, "rest"),
        (2, 2, "rest"),
    ],
)
def test_rank_band_rounds_each_band_up_to_at_least_one_creator(rank, of, band):
    assert rank_band(rank, of) == band


@pytest.mark.parametrize(("rank", "of"), [(0, 10), (11, 10), (1, 0)])
def test_rank_band_refuses_a_rank_outside_the_ranking(rank, of):
    with pytest.raises(ValueError, match="rank"):
        rank_band(rank, of)


# Properties.

cents = st.integers(min_value=0, max_value=10**10).map(lambda units: D(units) * D("0.01"))
a_score = st.one_of(
    st.just(D(0)),
    st.integers(min_value=1, max_value=5).map(D),  # ties
    st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
)
score_maps = st.dictionaries(st.integers(min_value=1, max_value=10**6), a_score, max_size=60)
any_rules = st.builds(
    Rules,
    alpha=st.sampled_from([D("0.5"), D("0.8"), D("1"), D("1.5")]),
    max_share=st.none() | st.decimals(min_value=D("0.05"), max_value=D(1), places=2),
    minimum_payout=st.integers(min_value=0, max_value=5000).map(lambda units: D(units) * D("0.01")),
)


@settings(max_examples=300, deadline=None)
@given(total=cents, scores=score_maps, rules=any_rules)
def test_every_split_adds_up_exactly_and_honours_cap_minimum_and_unit(total, scores, rules):
    result = allocate(total=total, scores=scores, rules=rules)

    assert sum(result.amounts.values(), D(0)) + result.unallocated == total
    assert result.unallocated >= 0
    assert result.unallocated % rules.unit == 0
    assert set(result.shares) == set(scores)
    assert set(result.amounts) <= {creator_id for creator_id, score in scores.items() if score > 0}
    cap = total if rules.max_share is None else rules.max_share * total
    for amount in result.amounts.values():
        assert amount > 0
        assert amount % rules.unit == 0
        assert amount <= cap
        assert amount >= rules.minimum_payout
    with localcontext(prec=60):
        for creator_id, share in result.shares.items():
            assert 0 <= share <= 1
            # Largest remainder: each creator gets their exact amount floored, or one unit more.
            assert abs(result.amounts.get(creator_id, 0) - share * total) < rules.unit
    someone_has_a_share = any(share > 0 for share in result.shares.values())
    if not someone_has_a_share:
        assert result.unallocated == total
    elif rules.max_share is None:
        assert result.unallocated == 0


@settings(max_examples=300, deadline=None)
@given(total=cents, scores=score_maps, rules=any_rules)
def test_a_higher_score_is_never_paid_less(total, scores, rules):
    result = allocate(total=total, scores=scores, rules=rules)

    for lower, higher in itertools.combinations(sorted(scores, key=lambda creator_id: scores[creator_id]), 2):
        if scores[higher] > scores[lower]:
            assert result.shares[higher] >= result.shares[lower]
            assert result.amounts.get(higher, 0) >= result.amounts.get(lower, 0)


@settings(max_examples=300, deadline=None)
@given(
    total=cents,
    scores=st.dictionaries(st.integers(min_value=1, max_value=1000), a_score, min_size=1, max_size=30),
    rules=any_rules,
    raise_by=st.decimals(min_value=D("0.000001"), max_value=10**6, places=6),
    data=st.data(),
)
def test_raising_a_score_never_lowers_that_creators_share(total, scores, rules, raise_by, data):
    creator_id = data.draw(st.sampled_from(sorted(scores)))
    raised = scores | {creator_id: scores[creator_id] + raise_by}

    before = allocate(total=total, scores=scores, rules=rules)
    after = allocate(total=total, scores=raised, rules=rules)

    assert after.shares[creator_id] >= before.shares[creator_id]
    assert after.amounts.get(creator_id, 0) >= before.amounts.get(creator_id, 0) - rules.unit


@settings(max_examples=300, deadline=None)
@given(total=cents, scores=score_maps, rules=any_rules, data=st.data())
def test_the_order_of_the_scores_does_not_change_the_split(total, scores, rules, data):
    shuffled = dict(data.draw(st.permutations(list(scores.items()))))

    in_order = allocate(total=total, scores=scores, rules=rules)
    reordered = allocate(total=total, scores=shuffled, rules=rules)

    assert reordered == in_order
    assert list(reordered.amounts.items()) == list(in_order.amounts.items())
    assert list(reordered.shares.items()) == list(in_order.shares.items())


# Beneficial owners: accounts of one verified person share one cap.


def test_one_person_with_five_accounts_gets_one_cap_and_the_honest_creators_get_the_rest():
    # Five accounts of score 10 and fifteen honest creators of score 1. Capped per account, the five would take 10
    # each, half the pool; as one owner they take 10 in all, 2 each, and the honest fifteen share the other 90.
    scores = {creator_id: D(10) for creator_id in range(1, 6)} | {creator_id: D(1) for creator_id in range(6, 21)}
    capped = rules(max_share="0.1")

    per_account = allocate(total=D("100.00"), scores=scores, rules=capped)
    per_owner = allocate(total=D("100.00"), scores=scores, rules=capped, owners=[[1, 2, 3, 4, 5]])

    assert sum(per_account.amounts[creator_id] for creator_id in range(1, 6)) == D("50.00")
    assert per_owner.amounts == {creator_id: D("2.00") for creator_id in range(1, 6)} | {
        creator_id: D("6.00") for creator_id in range(6, 21)
    }
    assert per_owner.unallocated == 0


def test_an_owners_amount_is_split_by_score_and_its_spare_cent_goes_to_the_higher_score():
    # The owner is capped at 10.00; its accounts' exact amounts are 10 × 1/7, 2/7 and 4/7.
    scores = {1: D(1), 2: D(2), 3: D(4)} | {creator_id: D(1) for creator_id in range(4, 20)}

    result = allocate(total=D("100.00"), scores=scores, rules=rules(max_share="0.1"), owners=[[3, 1, 2]])

    assert [result.amounts[creator_id] for creator_id in (1, 2, 3)] == [D("1.43"), D("2.86"), D("5.71")]
    with localcontext(prec=60):
        assert sum(result.shares[creator_id] for creator_id in (1, 2, 3)) == D("0.1")
    assert sum(result.amounts.values()) + result.unallocated == D("100.00")


def test_splitting_a_score_across_accounts_gains_nothing_when_alpha_flattens_the_curve():
    # Weights are sqrt(score): one account of 9 against one of 1 is 3:1. Three accounts of 3 would weigh 5.2 in all;
    # known as one owner they weigh sqrt(9) = 3 again.
    flattened = rules(alpha="0.5")
    alone = allocate(total=D("100.00"), scores={1: D(9), 2: D(1)}, rules=flattened)
    split = {1: D(3), 3: D(3), 4: D(3), 2: D(1)}

    unknown = allocate(total=D("100.00"), scores=split, rules=flattened)
    known = allocate(total=D("100.00"), scores=split, rules=flattened, owners=[[1, 3, 4]])

    assert alone.amounts == amounts(c1="75.00", c2="25.00")
    assert unknown.amounts[2] < D("17.00")
    assert known.amounts == amounts(c1="25.00", c2="25.00", c3="25.00", c4="25.00")


def test_an_owners_account_below_the_minimum_is_dropped_and_its_money_shared_again():
    # Owner {1, 2} has 62 of 100 by score; account 2's 2.00 is under the minimum of 5, so the split is redone on
    # scores 6 and 3.8: 61.2244… and 38.7755…, the spare cent to the larger remainder.
    result = allocate(
        total=D("100.00"), scores={1: D(6), 2: D("0.2"), 3: D("3.8")}, rules=rules(minimum="5"), owners=[[1, 2]]
    )

    assert result.amounts == amounts(c1="61.22", c3="38.78")
    assert result.shares[2] == 0
    assert result.unallocated == 0


def test_rounding_never_lifts_an_owner_over_the_cap():
    # Cap 0.105 of 1.05: the owner's three accounts are held at 0.10 together; ten others share 0.95.
    scores = {1: D(500), 2: D(300), 3: D(200)} | {creator_id: D(1) for creator_id in range(4, 14)}

    result = allocate(total=D("1.05"), scores=scores, rules=rules(max_share="0.1"), owners=[[1, 2, 3]])

    assert sum(result.amounts.get(creator_id, D(0)) for creator_id in (1, 2, 3)) == D("0.10")
    assert result.amounts[1] == D("0.05")
    assert sum(result.amounts.values()) + result.unallocated == D("1.05")


def test_owner_groups_may_name_creators_without_a_score_and_a_group_of_one_changes_nothing():
    scores = {1: D(6), 2: D(3), 3: D(1)}

    plain = allocate(total=D("100.00"), scores=scores, rules=rules(max_share="0.4"))
    grouped = allocate(total=D("100.00"), scores=scores, rules=rules(max_share="0.4"), owners=[[1], [2, 99], [3]])

    assert grouped == plain


def test_a_creator_in_two_owner_groups_is_refused():
    with pytest.raises(ValueError, match="creator 2 is in two owner groups"):
        allocate(total=D("1.00"), scores={1: D(1), 2: D(1), 3: D(1)}, rules=PLAIN, owners=[[1, 2], [2, 3]])


# Properties with owners: each creator id is given an owner label, 0 meaning alone.


@st.composite
def scores_and_owners(draw, max_size=40):
    scores = draw(st.dictionaries(st.integers(min_value=1, max_value=10**6), a_score, max_size=max_size))
    labels = {creator_id: draw(st.integers(min_value=0, max_value=4)) for creator_id in sorted(scores)}
    groups: dict[int, list[int]] = {}
    for creator_id, label in labels.items():
        if label:
            groups.setdefault(label, []).append(creator_id)
    return scores, list(groups.values())


def owner_totals(result: Allocation, scores, groups):
    """Owner -> (score, exact share, amount), an owner named by its lowest creator id."""
    owner_of = {creator_id: min(group) for group in groups for creator_id in group}
    totals: dict[int, list] = {}
    with localcontext(prec=60):
        for creator_id, score in scores.items():
            total = totals.setdefault(owner_of.get(creator_id, creator_id), [D(0), D(0), D(0)])
            total[0] += score
            total[1] += result.shares[creator_id]
            total[2] += result.amounts.get(creator_id, D(0))
    return totals


@settings(max_examples=300, deadline=None)
@given(total=cents, drawn=scores_and_owners(), rules=any_rules)
def test_every_split_with_owners_adds_up_exactly_and_holds_the_cap_per_owner(total, drawn, rules):
    scores, groups = drawn

    result = allocate(total=total, scores=scores, rules=rules, owners=groups)

    assert sum(result.amounts.values(), D(0)) + result.unallocated == total
    assert result.unallocated >= 0 and result.unallocated % rules.unit == 0
    assert set(result.shares) == set(scores)
    cap = total if rules.max_share is None else rules.max_share * total
    with localcontext(prec=60):
        for creator_id, amount in result.amounts.items():
            assert amount > 0 and amount % rules.unit == 0 and amount >= rules.minimum_payout
            assert scores[creator_id] > 0
        for creator_id, share in result.shares.items():
            assert 0 <= share <= 1
            # Each account gets its exact amount floored, or one unit more.
            assert abs(result.amounts.get(creator_id, 0) - share * total) < rules.unit
        for _score, share, amount in owner_totals(result, scores, groups).values():
            assert amount <= cap
            assert share * total <= cap + D("1e-40")
            # And each owner too.
            assert abs(amount - share * total) < rules.unit


@settings(max_examples=300, deadline=None)
@given(total=cents, drawn=scores_and_owners(), rules=any_rules)
def test_with_owners_a_higher_score_is_never_paid_less_within_an_owner_or_across_owners(total, drawn, rules):
    scores, groups = drawn

    result = allocate(total=total, scores=scores, rules=rules, owners=groups)

    for group in groups:
        for lower, higher in itertools.combinations(sorted(group, key=lambda creator_id: scores[creator_id]), 2):
            if scores[higher] > scores[lower]:
                assert result.shares[higher] >= result.shares[lower]
                assert result.amounts.get(higher, 0) >= result.amounts.get(lower, 0)
    # Across owners, by the scores that stayed in (an account below the minimum takes its score out).
    kept = {creator_id: score if result.shares[creator_id] > 0 else D(0) for creator_id, score in scores.items()}
    owners = list(owner_totals(result, kept, groups).values())
    # Shares are summed from 50-digit Decimals, so two owners both at the cap may differ in the last digits.
    close = D("1e-40")
    for (score_a, share_a, amount_a), (score_b, share_b, amount_b) in itertools.combinations(owners, 2):
        with localcontext(prec=60):
            if score_a > score_b:
                assert share_a >= share_b - close and amount_a >= amount_b
            elif score_b > score_a:
                assert share_b >= share_a - close and amount_b >= amount_a


@settings(max_examples=300, deadline=None)
@given(total=cents, drawn=scores_and_owners(max_size=25), rules=any_rules, data=st.data())
def test_with_owners_the_order_of_scores_groups_and_members_does_not_change_the_split(total, drawn, rules, data):
    scores, groups = drawn
    shuffled_scores = dict(data.draw(st.permutations(list(scores.items()))))
    shuffled_groups = [data.draw(st.permutations(group)) for group in data.draw(st.permutations(groups))]

    in_order = allocate(total=total, scores=scores, rules=rules, owners=groups)
    reordered = allocate(total=total, scores=shuffled_scores, rules=rules, owners=shuffled_groups)

    assert reordered == in_order
    assert list(reordered.amounts.items()) == list(in_order.amounts.items())


@settings(max_examples=300, deadline=None)
@given(total=cents, scores=score_maps, rules=any_rules)
def test_groups_of_one_split_exactly_as_no_groups(total, scores, rules):
    alone = [[creator_id] for creator_id in scores]

    assert allocate(total=total, scores=scores, rules=rules, owners=alone) == allocate(
        total=total, scores=scores, rules=rules
    )


@settings(max_examples=300, deadline=None)
@given(
    total=cents,
    drawn=scores_and_owners(max_size=25),
    rules=any_rules,
    raise_by=st.decimals(min_value=D("0.000001"), max_value=10**6, places=6),
    data=st.data(),
)
def test_with_owners_raising_a_score_never_lowers_that_accounts_share(total, drawn, rules, raise_by, data):
    scores, groups = drawn
    if not scores:
        return
    creator_id = data.draw(st.sampled_from(sorted(scores)))
    raised = scores | {creator_id: scores[creator_id] + raise_by}

    before = allocate(total=total, scores=scores, rules=rules, owners=groups)
    after = allocate(total=total, scores=raised, rules=rules, owners=groups)

    assert after.shares[creator_id] >= before.shares[creator_id]
    assert after.amounts.get(creator_id, 0) >= before.amounts.get(creator_id, 0) - rules.unit
