"""The check desk: the querier's side as a service for the country's own systems and officers.

`checks` (every dataset of every member in one check, indexes synced in the background),
`clients` (who may use the desk: integrating systems, officers, partners, auditors, by token),
`referrals` (what a partner's check raised for the officers), `service` (a check as each role
may see it).
"""

__all__: list[str] = []
