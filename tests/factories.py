"""factory_boy factories for the domain; tests build only the rows they talk about."""

import factory
from django.utils import timezone

from accounts.models import Role, User
from customers.models import Customer
from touchpoints.models import Channel, Department, Stage, Touchpoint, TouchpointOwner


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"department-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class TouchpointFactory(factory.django.DjangoModelFactory):
    """A touchpoint owned by one primary department (`owner`)."""

    class Meta:
        model = Touchpoint
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"touchpoint-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())
    channel = Channel.PHONE
    stage = Stage.INTERACTION

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if create and not self.owners.exists():
            TouchpointOwner.objects.create(touchpoint=self, department=extracted or DepartmentFactory(), primary=True)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ["external_id"]

    external_id = factory.Sequence(lambda n: f"C-{n:05d}")
    name = factory.Faker("company")
    email = factory.Faker("company_email")
    segment = "smb"


class UserFactory(factory.django.DjangoModelFactory):
    """A user of a role; pass `departments=[...]` to place them."""

    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.STAFF
    password = factory.django.Password("correct-horse-battery")
    last_login = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        if create and extracted:
            self.departments.set(extracted)
