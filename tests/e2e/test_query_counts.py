"""Hot paths keep a fixed number of queries (Zulip's assert_database_query_count), so a
path that is fast today cannot become slow unnoticed."""

from tests.e2e.test_purchase_walk import purchase, share_and_claim


def test_an_attributed_purchase_costs_a_fixed_number_of_queries(api, campaign, django_assert_max_num_queries):
    _, coupon = share_and_claim(api)
    # 42 today (run with -vv to list them): the walk, the decision trace row, 2 per webhook event
    # published (status changed twice, reward given), the email template lookup and the
    # low-stock check of the advocate's coupon list
    with django_assert_max_num_queries(42):
        response = purchase(api, coupon=coupon)
    assert response.json()["referral"]["status"] == "approved"


def test_referral_details_cost_a_fixed_number_of_queries(api, campaign, django_assert_max_num_queries):
    _, coupon = share_and_claim(api)
    referral_id = purchase(api, coupon=coupon).json()["referral"]["id"]
    with django_assert_max_num_queries(9):
        assert api.get(f"/referrals/{referral_id}").status_code == 200


def test_person_page_data_costs_a_fixed_number_of_queries(api, campaign, django_assert_max_num_queries):
    for i in range(3):
        _, coupon = share_and_claim(api, friend=f"friend{i}@example.com")
        purchase(api, order=f"O{i}", email=f"friend{i}@example.com", coupon=coupon)
    with django_assert_max_num_queries(11):
        assert api.get("/people/stephanie@ganleywestside.com").status_code == 200
