"""Creating Scones's IAM roles, or bringing existing ones up to date, without touching anyone else's.

Each role has one trust policy and one inline policy (from
:mod:`~scones.backends.aws.iam_policies`), lives under the ``/scones/`` path and
carries the project tag. A role of the same name that lacks the tag is someone
else's and is refused, never adopted.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Callable

import botocore.exceptions

from scones.backends.aws.errors import SconesAwsError, is_not_found
from scones.backends.aws.iam_policies import RoleSpec
from scones.backends.aws.naming import PROJECT_TAG, ROLE_PATH, Scope

INLINE_POLICY_NAME = "scones-least-privilege"


def policy_json(document: dict) -> str:
    """A stable serialisation, so equal policies compare equal as text too."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def decoded_policy(value) -> dict:
    """IAM returns policy documents URL-encoded (boto3 usually decodes them; moto and older paths may not)."""
    if isinstance(value, dict):
        return value
    return json.loads(urllib.parse.unquote(value))


def role_tags(iam, role_name: str) -> dict:
    pages = iam.get_paginator("list_role_tags").paginate(RoleName=role_name)
    return {tag["Key"]: tag["Value"] for page in pages for tag in page["Tags"]}


def ensure_role(iam, scope: Scope, spec: RoleSpec, log: Callable[[str], None]) -> str:
    """Create the role or update its trust and inline policy where they differ; returns the role ARN."""
    try:
        role = iam.get_role(RoleName=spec.name)["Role"]
    except botocore.exceptions.ClientError as error:
        if not is_not_found(error):
            raise
        role = iam.create_role(RoleName=spec.name, Path=ROLE_PATH, Description=spec.description,
                               AssumeRolePolicyDocument=policy_json(spec.trust), Tags=scope.tag_list)["Role"]
        iam.put_role_policy(RoleName=spec.name, PolicyName=INLINE_POLICY_NAME, PolicyDocument=policy_json(spec.policy))
        log(f"IAM role {spec.name} created")
        return role["Arn"]
    if not scope.owns(role_tags(iam, spec.name)):
        raise SconesAwsError(
            f"an IAM role named {spec.name} exists but is not tagged {PROJECT_TAG}={scope.project}",
            "Scones does not modify roles it did not create: pass a different --name-prefix, or delete that role",
            code="NotScones")
    if decoded_policy(role["AssumeRolePolicyDocument"]) != spec.trust:
        iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=policy_json(spec.trust))
        log(f"IAM role {spec.name}: trust policy updated")
    try:
        current = decoded_policy(iam.get_role_policy(RoleName=spec.name, PolicyName=INLINE_POLICY_NAME)
                                 ["PolicyDocument"])
    except botocore.exceptions.ClientError as error:
        if not is_not_found(error):
            raise
        current = None
    if current != spec.policy:
        iam.put_role_policy(RoleName=spec.name, PolicyName=INLINE_POLICY_NAME, PolicyDocument=policy_json(spec.policy))
        log(f"IAM role {spec.name}: policy updated")
    return role["Arn"]


def delete_role(iam, role_name: str) -> None:
    """Detach managed policies, delete inline ones, then the role (IAM refuses otherwise)."""
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for attached in page["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role_name, PolicyArn=attached["PolicyArn"])
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in page["PolicyNames"]:
            iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    iam.delete_role(RoleName=role_name)


def scones_roles(iam, scope: Scope) -> list[str]:
    """Names of the roles under ``/scones/`` tagged with this project."""
    names = []
    for page in iam.get_paginator("list_roles").paginate(PathPrefix=ROLE_PATH):
        for role in page["Roles"]:
            if scope.owns(role_tags(iam, role["RoleName"])):
                names.append(role["RoleName"])
    return sorted(names)
