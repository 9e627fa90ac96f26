"""moto_server for benchmarks, with DescribeTasks made linear.

moto 5.2.5's DescribeTasks compares every task in every cluster with every requested ID by
substring (tasks x requested work): at 20,000 tasks one 100-task call takes seconds, so a scale
run would measure the emulator, not the checker. This launcher replaces that one method with the
same answer (same tasks, same order, each advanced once) found by set look-ups, then starts
moto's own server. Benchmarks only: tests run stock moto.
"""

import sys

from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.server import main


def describe_tasks(self, cluster_str, tasks):
    self._get_cluster(cluster_str)
    if not tasks:
        raise InvalidParameterException("Tasks cannot be empty.")
    wanted = set(tasks)
    # moto matches a task whose ID appears in a requested string: an ID or an ARN's last part.
    ids = {t.split("/")[-1] for t in tasks}
    response = []
    for cluster_tasks in self.tasks.values():
        for task_arn, task in cluster_tasks.items():
            if task_arn in wanted or task_arn.split("/")[-1] in ids:
                task.advance()
                response.append(task)
    return response


EC2ContainerServiceBackend.describe_tasks = describe_tasks

if __name__ == "__main__":
    sys.exit(main())
