"""Following a training job's CloudWatch log streams, the way ``sagemaker.logs_for_job`` does.

SageMaker writes each instance's output to ``/aws/sagemaker/TrainingJobs``,
stream ``JOB/algo-1-<epoch>``. :class:`LogFollower` remembers a forward token
per stream, so each :meth:`~LogFollower.poll` returns only lines it has not
returned before; the group and streams appear only once the instance starts,
so "not there yet" is an empty poll, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import botocore.exceptions

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass
class LogFollower:
    logs: object  # a boto3 CloudWatch Logs client
    job_name: str
    log_group: str = TRAINING_LOG_GROUP
    _tokens: dict = field(default_factory=dict)  # stream name -> nextForwardToken

    def streams(self) -> list[str]:
        try:
            pages = self.logs.get_paginator("describe_log_streams").paginate(
                logGroupName=self.log_group, logStreamNamePrefix=f"{self.job_name}/")
            return sorted(stream["logStreamName"] for page in pages for stream in page["logStreams"])
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return []
            raise

    def poll(self) -> list[str]:
        """Every line written since the last poll, stream by stream."""
        lines: list[str] = []
        for stream in self.streams():
            while True:
                kwargs = {"logGroupName": self.log_group, "logStreamName": stream, "startFromHead": True}
                if stream in self._tokens:
                    kwargs["nextToken"] = self._tokens[stream]
                response = self.logs.get_log_events(**kwargs)
                lines += [event["message"].rstrip("\n") for event in response["events"]]
                token = response.get("nextForwardToken")
                # GetLogEvents returns the token it was given once a stream is exhausted.
                exhausted = not response["events"] or token == self._tokens.get(stream)
                if token:
                    self._tokens[stream] = token
                if exhausted:
                    break
        return lines
