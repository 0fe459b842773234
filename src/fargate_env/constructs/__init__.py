"""Reusable units with narrow props, each tested on a bare Stack().

Some of them create their resources in the scope they are given, not in a child. Why:
`Network`, `LoadBalancer`, `Edge` and `PreviewExpiry` were once written inline in their stacks,
and those stacks are deployed. A real child construct would put its id into every resource's
path: CloudFormation logical ids (hashed from the path) would change, so an update would
REPLACE the VPC, the ALB, its bucket or the distribution; and the VPC's and subnets' Name
tags (CDK writes their node path there) would change too. The other known escapes do not fit:
only one child of a scope may be "Default" (whose id the path hashing skips), and the Platform
stack needs two of these units; `override_logical_id` per resource would pin dozens of ids by
hand and still leave the path-based Name tags changed. So these units are plain classes that
take a scope and create their resources directly in it, under the ids the stacks used: the
templates stay byte-identical, and each unit is still a narrow-prop piece tested on a bare
Stack(). A unit made from scratch, with nothing deployed to keep, should be a Construct.
"""
