"""Moving over: importing Logic App exports and SDK v1 schedules into a rules file."""
