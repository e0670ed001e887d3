"""The wire contract of blindhit (package blindhit.v1), its generated message code, and
`proto.services`, which reads the services from the generated descriptors."""

__all__: list[str] = []
