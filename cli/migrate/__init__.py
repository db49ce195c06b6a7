"""Reading what users move over from: Logic App exports and SDK v1 schedules."""
