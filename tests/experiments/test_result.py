import json

from cible.experiments import ArmStats, Cell, allocate_budget, check_sample_ratio, compare_means


def test_as_dict_is_plain_json_ready_data_even_when_nested():
    cells = [Cell("loyal", "email", 4.0, 1.0, 0.5, 10), Cell("new", "sms", 3.0, 2.0, 1.0, 10)]
    allocation = allocate_budget(cells, budget=8, channel_caps={"sms": 2})
    plain = allocation.as_dict()
    assert json.loads(json.dumps(plain)) == plain
    assert plain["cells"][0] == {
        "segment": "loyal",
        "channel": "email",
        "profit": 4.0,
        "profit_se": 1.0,
        "cost": 0.5,
        "reachable": 10,
    }
    assert plain["channel_shadow_prices"] == {"sms": allocation.channel_shadow_prices["sms"]}
    check = check_sample_ratio([100, 120], [0.5, 0.5]).as_dict()
    assert check["counts"] == [100, 120]
    assert isinstance(check["mismatch"], bool)
    means = compare_means(ArmStats(10, 5.0, 9.0), ArmStats(10, 4.0, 7.0)).as_dict()
    assert type(means["p_value"]) is float
