"""moto_server for benchmarks, with DescribeTasks made linear and its answer cached per task.

moto 5.2.5's DescribeTasks compares every task in every cluster with every requested ID by
substring (tasks x requested work): at 20,000 tasks one 100-task call takes seconds, so a scale
run would measure the emulator, not the checker. This launcher replaces that one method with the
same answer (same tasks, same order, each advanced once) found through an index. It also keeps
each task's serialised form until the task changes: serialising walks the whole Task shape
(about 0.8 ms a task), and at the steady refresh's 20 calls a cycle that kept moto's core, which
the targets share, busy enough to slow them. Then it starts moto's own server. Benchmarks only:
tests run stock moto.
"""

import json
import sys

from moto.ecs.exceptions import InvalidParameterException
from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import DESCRIBE_TASKS_TAGS, EC2ContainerServiceResponse
from moto.server import main


def _index(self):
    """Task ID -> (position, task) over every cluster, rebuilt when the task count changes
    (moto only ever adds tasks; StopTask changes a task in place)."""
    total = sum(len(t) for t in self.tasks.values())
    cached = getattr(self, "_bench_index", None)
    if cached is None or cached[0] != total:
        index = {}
        position = 0
        for cluster_tasks in self.tasks.values():
            for task_arn, task in cluster_tasks.items():
                index[task_arn.split("/")[-1]] = (position, task)
                position += 1
        cached = (total, index)
        self._bench_index = cached
    return cached[1]


def describe_tasks(self, cluster_str, tasks):
    self._get_cluster(cluster_str)
    if not tasks:
        raise InvalidParameterException("Tasks cannot be empty.")
    # moto matches a task whose ID appears in a requested string: an ID or an ARN's last part.
    index = _index(self)
    found = {}
    for requested in tasks:
        hit = index.get(requested.split("/")[-1])
        if hit is not None:
            found[hit[0]] = hit[1]
    # Same order as moto's scan (clusters, then tasks as added), each advanced once.
    response = [found[k] for k in sorted(found)]
    for task in response:
        task.advance()
    return response


EC2ContainerServiceBackend.describe_tasks = describe_tasks

_serialised = {}


def _version(task):
    """What the benchmark can change about a task (ECS state, stop reason)."""
    return (task.status, task.desired_status, task.stopped_reason, len(task.attachments))


def describe_tasks_response(self):
    if "TAGS" in self._get_param("include", []):
        return _original_response(self)
    self._exclude_from_response(DESCRIBE_TASKS_TAGS)
    cluster = self._get_param("cluster", "default")
    tasks = self.ecs_backend.describe_tasks(cluster, self._get_param("tasks", []))
    out = []
    for task in tasks:
        hit = _serialised.get(task.task_arn)
        if hit is None or hit[0] != _version(task):
            _, _, body = self.serialized(ActionResult({"tasks": [task], "failures": []}))
            hit = (_version(task), json.loads(body)["tasks"][0])
            _serialised[task.task_arn] = hit
        out.append(hit[1])
    return json.dumps({"tasks": out, "failures": []})


_original_response = EC2ContainerServiceResponse.describe_tasks
EC2ContainerServiceResponse.describe_tasks = describe_tasks_response

if __name__ == "__main__":
    sys.exit(main())
