"""The document pipeline's Dagster definitions.

Importing the package quiets Dagster's notices that an API the project uses is beta, in preview or
superseded (BetaWarning, PreviewWarning, SupersessionWarning): they concern Dagster's API stability, not the
user's run, and they buried every run's output (`make run`, the UI's run logs, the daemon). The filters are
set here, where the CLI, the UI's code server and the daemon all load the definitions; every other warning,
the project's own included, still shows."""

import warnings

from dagster_shared.utils.warnings import BetaWarning, PreviewWarning, SupersessionWarning

for _category in (BetaWarning, PreviewWarning, SupersessionWarning):
    warnings.filterwarnings("ignore", category=_category)
