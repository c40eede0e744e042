"""What SageMaker instances cost per hour, so cleanup can say what it saved you.

On-demand list prices for SageMaker real-time inference and training in
us-east-1 (N. Virginia), USD per instance-hour, from
https://aws.amazon.com/sagemaker/pricing/ as recorded on PRICES_AS_OF. Other
regions cost somewhat more; prices change, so treat the figures as a guide
and the pricing page as the truth. Lambda, Step Functions and IAM bill per
request or not at all, so nothing Scones leaves idle costs anything but
instances (and S3 storage, cents per month for the staged data).
"""

from __future__ import annotations

PRICES_AS_OF = "2025-06-01"
PRICE_REGION = "us-east-1"

HOURLY_USD = {
    "ml.t2.medium": 0.056,
    "ml.t2.large": 0.111,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g5.xlarge": 1.408,
    "ml.p2.xlarge": 1.125,
    "ml.p3.2xlarge": 3.825,
}


def hourly_price(instance_type: str) -> float | None:
    """USD per hour for one instance of ``instance_type``, or None when the table lacks it."""
    return HOURLY_USD.get(instance_type)


def hourly_cost(instances: dict[str, int]) -> tuple[float, list[str]]:
    """Total USD per hour of ``{instance type: count}``, and the types the table does not know."""
    total, unknown = 0.0, []
    for instance_type, count in sorted(instances.items()):
        price = hourly_price(instance_type)
        if price is None:
            unknown.append(instance_type)
        else:
            total += price * count
    return round(total, 4), unknown


def describe_price(instance_type: str, count: int = 1) -> str:
    price = hourly_price(instance_type)
    if price is None:
        return f"{count} × {instance_type}, price not in Scones's table"
    return f"{count} × {instance_type} at ${price:.3f}/h ({PRICE_REGION} list price, {PRICES_AS_OF})"
