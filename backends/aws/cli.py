"""``scones aws …``: commands that only make sense on AWS.

``scones aws policies`` prints the IAM roles Scones would create, each with its
trust policy and its one inline policy, as JSON: review them (or hand them to
an administrator who creates the roles, then pass ``--role-arn``) before
anything is deployed. With ``--account`` and ``--bucket`` it runs offline.
"""

from __future__ import annotations

import json

import boto3
import click

from scones.backend import DEFAULT_ENDPOINT
from scones.backends.aws import AwsBackend, sdk
from scones.backends.aws.iam_policies import DEFAULT_IMAGE_PREFIXES, RoleSpec, all_role_specs
from scones.backends.aws.naming import DEFAULT_PROJECT, ROLE_PATH, Scope, ecr_repository_arn


def policies_json(specs: list[RoleSpec]) -> dict:
    return {spec.name: {"path": ROLE_PATH, "description": spec.description, "trust_policy": spec.trust,
                        "policy": spec.policy} for spec in specs}


@click.group("aws")
def aws_group():
    """Commands for the aws backend."""


@aws_group.command("policies")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="us-east-1", show_default=True)
@click.option("--account", default=None, metavar="ID", help="AWS account id (default: ask STS with your credentials).")
@click.option("--bucket", default=None, help="The data bucket (default: sagemaker-REGION-ACCOUNT, via STS).")
@click.option("--endpoint-name", default=DEFAULT_ENDPOINT, show_default=True)
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="Value of the scones:project tag.")
@click.option("--name-prefix", default="", help="Prefix of every function, role and state machine name.")
@click.option("--image-prefix", "image_prefixes", multiple=True, default=DEFAULT_IMAGE_PREFIXES, show_default=True,
              help="S3 prefix serializeImageData may read (repeatable).")
def policies_command(region, account, bucket, endpoint_name, project, name_prefix, image_prefixes):
    """Print the IAM roles and least-privilege policies Scones creates, as JSON."""
    if account and bucket:
        partition = boto3.session.Session().get_partition_for_region(region)
        scope = Scope(region=region, account=account, partition=partition, project=project, prefix=name_prefix)
        specs = all_role_specs(scope, bucket=bucket, endpoint_name=endpoint_name,
                               image_repository_arn=ecr_repository_arn(sdk.algorithm_image_uri(region), partition),
                               image_prefixes=image_prefixes)
    elif account or bucket:
        raise click.UsageError("pass both --account and --bucket to work offline, or neither to ask AWS")
    else:
        backend = AwsBackend(region=region, project=project, name_prefix=name_prefix, image_prefixes=image_prefixes)
        specs = backend.role_specs(endpoint_name=endpoint_name)
    click.echo(json.dumps(policies_json(specs), indent=2))
