"""The split setup's plan bundle: its format (`format`) and how the gate finds it in the plan
workflow's run (`plan_run`)."""
