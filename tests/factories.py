"""factory_boy factories for the register."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from inventory.models import Credential, Environment, Identity, Source
from ownership.models import Person, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    name = factory.Sequence(lambda n: f"Person {n}")
    team = factory.SubFactory(TeamFactory)


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("slug",)

    slug = "production"
    name = factory.LazyAttribute(lambda o: o.slug.title())
    is_production = factory.LazyAttribute(lambda o: o.slug == "production")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("name",)

    name = "aws-prod"
    kind = "aws"
    config = factory.LazyFunction(lambda: {"region": "eu-west-1"})


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    source = factory.SubFactory(SourceFactory)
    external_id = factory.Sequence(lambda n: f"arn:aws:iam::123456789012:user/svc-{n}")
    provider = "aws"
    kind = "iam_user"
    name = factory.Sequence(lambda n: f"svc-{n}")
    environment = factory.SubFactory(EnvironmentFactory)
    zone = "compute"
    privilege = "read"
    auth_method = "static_secret"
    last_used_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    last_seen_at = factory.LazyFunction(timezone.now)


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    identity = factory.SubFactory(IdentityFactory)
    kind = "access_key"
    external_id = factory.Sequence(lambda n: f"AKIAEXAMPLE{n:09d}")
    created_at_source = factory.LazyFunction(lambda: timezone.now() - timedelta(days=200))
